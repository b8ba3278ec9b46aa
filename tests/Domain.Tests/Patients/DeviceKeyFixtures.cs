using System.Security.Cryptography;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static Times;

/// <summary>Device keys made as a browser makes them (P-256), and signatures of statements as the page makes them.</summary>
public sealed class DeviceKeyFixture : IDisposable
{
    public ECDsa Key { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string PublicKey => Convert.ToBase64String(Key.ExportSubjectPublicKeyInfo());

    public string KeyId => P256.KeyIdOf(Key.ExportSubjectPublicKeyInfo());

    public string Sign(byte[] statement) =>
        Convert.ToBase64String(Key.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    /// <summary>The key's enrolment, signed by itself at <paramref name="signedAt"/> (now by default).</summary>
    public EnrolDeviceKey Enrol(Actor actor, string? reason = null, DateTimeOffset? signedAt = null)
    {
        var at = signedAt ?? Now;
        return new EnrolDeviceKey(PublicKey, new PatientSignature(KeyId, at, Sign(PatientStatements.Enrolment(PatientId, KeyId, at, PublicKey))),
            reason, actor, Now);
    }

    public DeviceKeyEnrolled Enrolled(DateTimeOffset? signedAt = null) => (DeviceKeyEnrolled)PatientDecider.Decide(Enrol(Patient, signedAt: signedAt), PatientSpec.Fold(PatientFixtures.Registered))[0];

    /// <summary><paramref name="command"/> signed by this key (its statement as the patient's page builds it).</summary>
    public T Signed<T>(T command, DateTimeOffset? signedAt = null, string? keyId = null) where T : IPatientSigned
    {
        var at = signedAt ?? Now;
        var id = keyId ?? KeyId;
        var signature = new PatientSignature(id, at, Sign(PatientStatements.Of(command, PatientId, id, at)));
        return command switch
        {
            GrantConsent g => (T)(IPatientSigned)(g with { Signature = signature }),
            RevokeConsent r => (T)(IPatientSigned)(r with { Signature = signature }),
            ForgetPatient f => (T)(IPatientSigned)(f with { Signature = signature }),
            _ => throw new ArgumentException("Not a signed command.", nameof(command)),
        };
    }

    public void Dispose() => Key.Dispose();
}
