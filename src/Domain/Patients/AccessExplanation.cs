using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>
/// Why an actor can or cannot have some categories now: what <see cref="PatientDecider.Evaluate"/> would release
/// (<see cref="Released"/>, under <see cref="ConsentIds"/>), what it would withhold (<see cref="Withheld"/>, in request
/// order) and the domain's reason for withholding it (one of <see cref="DenialReasons"/>; null when nothing is withheld).
/// </summary>
public sealed record AccessExplanation(
    IReadOnlyList<Category> Requested, IReadOnlyList<Category> Released, IReadOnlyList<Category> Withheld,
    IReadOnlyList<Guid> ConsentIds, string? Reason)
{
    public bool AllReleased => Withheld.Count == 0;
}
