using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record RegisterPatient(
    Guid PatientId, string HomeHospital, int BirthYear, Sex Sex, string EncryptedDemographics,
    Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record CorrectPatientDetails(
    int BirthYear, Sex Sex, string EncryptedDemographics, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record ForgetPatient(Actor Actor, DateTimeOffset At, PatientSignature? Signature = null) : IPatientSigned;
