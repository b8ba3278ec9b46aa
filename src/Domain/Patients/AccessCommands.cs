using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record RequestAccess(
    Guid AccessId, Purpose Purpose, IReadOnlyList<Category> Categories, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record UseEmergencyAccess(Guid AccessId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;
