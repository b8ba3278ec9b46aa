using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed partial class PatientDecider
{
    /// <summary>
    /// The first device key by the patient; a replacement only by an admin of the home hospital, with a reason (the
    /// patient lost the device: the hospital checks who they are, as it did when it registered them). Either way the
    /// new key proves itself by signing its enrolment statement.
    /// </summary>
    private static IReadOnlyList<IPatientEvent> Enrol(EnrolDeviceKey command, PatientState state)
    {
        var current = state.DeviceKey;
        if (current is null)
            RequireThePatient(command.Actor, state, "Only the patient enrols their first device key.");
        else if (state.IsThePatient(command.Actor))
            throw RejectedException.Conflict("device-key-enrolled",
                "A device key is already enrolled; a new device is enrolled through your home hospital.");
        else if (command.Actor.Role != Role.Admin || !string.Equals(command.Actor.Hospital, state.HomeHospital, StringComparison.Ordinal))
            throw RejectedException.Forbidden("home-hospital-admin-required", "Only an admin of the patient's home hospital replaces a device key.");
        if (current is not null) RequireReason(command.Reason ?? "");

        if (P256.KeyIdOf(command.PublicKey) is not { } keyId)
            throw RejectedException.Invalid("device-key-invalid", "The device key is not an ECDSA P-256 public key in canonical SubjectPublicKeyInfo form.");
        if (keyId == current?.KeyId)
            throw RejectedException.Conflict("device-key-same", "This device key is the one already enrolled.");
        var proof = command.Proof ?? throw RejectedException.Invalid("device-key-proof-required", "A device key is enrolled with its own signature.");
        RequireSignature(proof, new DeviceKey(keyId, command.PublicKey), command.At,
            () => PatientStatements.Enrolment(state.PatientId, keyId, proof.SignedAt, command.PublicKey));

        return current is null
            ? [new DeviceKeyEnrolled(keyId, command.PublicKey, proof.SignedAt, proof.Signature)]
            : [new DeviceKeyReplaced(keyId, command.PublicKey, proof.SignedAt, proof.Signature, current.KeyId, command.Reason!)];
    }

    /// <summary>
    /// The one rule for <see cref="IPatientSigned"/> commands, after their own rules: with no device key enrolled they go
    /// unsigned; with one, the patient's signature of the command's statement must verify under it, and is recorded
    /// after the command's events.
    /// </summary>
    private static IReadOnlyList<IPatientEvent> Countersign(IPatientSigned command, PatientState state, IReadOnlyList<IPatientEvent> events)
    {
        if (state.DeviceKey is not { } key)
        {
            if (command.Signature is not null)
                throw RejectedException.Conflict("no-device-key", "The command is signed, but the patient has no device key enrolled to check it against.");
            return events;
        }
        var signature = command.Signature ?? throw RejectedException.Forbidden("patient-signature-required",
            "The patient has a device key: this command needs the patient's signature made with it.");
        RequireSignature(signature, key, command.At, () => PatientStatements.Of(command, state.PatientId, signature.KeyId, signature.SignedAt, events));
        return [.. events, new SignedByPatient(PatientStatements.ActionOf(command), signature.KeyId, signature.SignedAt, signature.Signature)];
    }

    private static void RequireSignature(PatientSignature signature, DeviceKey key, DateTimeOffset at, Func<byte[]> statement)
    {
        if (!string.Equals(signature.KeyId, key.KeyId, StringComparison.Ordinal))
            throw RejectedException.Forbidden("patient-signature-wrong-key",
                "The signature is not made with the patient's enrolled device key (a replaced key signs nothing).");
        if (signature.SignedAt < at - PatientStatements.MaxAge || signature.SignedAt > at + PatientStatements.MaxAhead)
            throw RejectedException.Forbidden("patient-signature-stale",
                $"The signature was made more than {PatientStatements.MaxAge.TotalMinutes:0} minutes before the command, or after it.");
        byte[] message, bytes;
        try
        {
            message = statement();
            bytes = Convert.FromBase64String(signature.Signature ?? "");
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw RejectedException.Forbidden("patient-signature-invalid", "The patient's signature does not verify for this command.");
        }
        if (!P256.Verify(key.PublicKey, message, bytes))
            throw RejectedException.Forbidden("patient-signature-invalid", "The patient's signature does not verify for this command.");
    }
}
