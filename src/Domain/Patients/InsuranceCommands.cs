using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record LinkInsurance(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil,
    Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record EndInsurance(Actor Actor, DateTimeOffset At) : IPatientCommand;
