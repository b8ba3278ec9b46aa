using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record RequestAccess(
    Guid AccessId, Purpose Purpose, IReadOnlyList<Category> Categories, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record UseEmergencyAccess(Guid AccessId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

/// <summary>
/// A practitioner asks why they may or may not see <paramref name="Categories"/> of the record for
/// <paramref name="Purpose"/> now. Nothing is released; the question and its answer are recorded, because asking
/// what a consent covers tells the asker something about the patient.
/// </summary>
public sealed record ExplainAccess(
    Guid ExplanationId, Purpose Purpose, IReadOnlyList<Category> Categories, Actor Actor, DateTimeOffset At) : IPatientCommand;
