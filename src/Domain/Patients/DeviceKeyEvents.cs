using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>The patient enrolled a device key: from now on their consent changes and forgetting need its signature.</summary>
[EventType("patient.device-key-enrolled.v1")]
public sealed record DeviceKeyEnrolled(string KeyId, string PublicKey, DateTimeOffset SignedAt, string Proof) : IPatientEvent;

/// <summary>
/// The home hospital replaced the patient's device key (a lost or new device): the old key signs nothing from now on.
/// On the patient's trail as what it is, with the admin who did it and why.
/// </summary>
[EventType("patient.device-key-replaced.v1")]
public sealed record DeviceKeyReplaced(string KeyId, string PublicKey, DateTimeOffset SignedAt, string Proof, string ReplacedKeyId, string Reason)
    : IPatientEvent;

/// <summary>
/// The patient's signature of the command whose events precede it in the same transaction (<paramref name="Action"/>
/// names the statement, <see cref="PatientStatements"/>): anyone holding the stream can rebuild the statement from
/// those events and check the signature under the device key enrolled then.
/// </summary>
[EventType("patient.command-signed.v1")]
public sealed record SignedByPatient(string Action, string KeyId, DateTimeOffset SignedAt, string Signature) : IPatientEvent;

/// <summary>The patient's enrolled device key.</summary>
public sealed record DeviceKey(string KeyId, string PublicKey);
