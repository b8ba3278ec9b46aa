using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>
/// The patient's signature of a command, made in their browser by their enrolled device key (ECDSA P-256, IEEE P1363,
/// base64) over the command's statement (<see cref="PatientStatements"/>). <paramref name="SignedAt"/> is the device's
/// clock when it signed (within <see cref="PatientStatements.MaxAge"/> before the command's time).
/// </summary>
public sealed record PatientSignature(string KeyId, DateTimeOffset SignedAt, string Signature);

/// <summary>
/// The commands that change what the patient allows or ask for them to be forgotten: consent grants, narrowings and
/// revocations, and forgetting. One rule for all of them: once the patient has a device key, each needs the patient's
/// <see cref="Signature"/> of its statement, which the decider — hence every endorser — verifies.
/// </summary>
public interface IPatientSigned : IPatientCommand
{
    /// <summary>Null when the patient signs nothing (no device key enrolled).</summary>
    PatientSignature? Signature { get; }
}

/// <summary>
/// Records the public half of a key pair the patient's browser made (base64 SubjectPublicKeyInfo), with
/// <paramref name="Proof"/>: the new key's own signature of its enrolment statement, so only a key someone holds is
/// enrolled. The first by the patient; a replacement (a lost device) only by an admin of the home hospital, with a reason.
/// </summary>
public sealed record EnrolDeviceKey(string PublicKey, PatientSignature Proof, string? Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;
