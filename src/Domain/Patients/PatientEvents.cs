using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

[EventType("patient.registered.v1")]
public sealed record PatientRegistered(
    Guid PatientId, string HomeHospital, int BirthYear, Sex Sex, string EncryptedDemographics) : IPatientEvent;

[EventType("patient.details-corrected.v1")]
public sealed record PatientDetailsCorrected(int BirthYear, Sex Sex, string EncryptedDemographics) : IPatientEvent;

/// <summary>The patient's data key was destroyed; encrypted content is unreadable from now on.</summary>
[EventType("patient.forgotten.v1")]
public sealed record PatientForgotten(DateTimeOffset ForgottenAt) : IPatientEvent;
