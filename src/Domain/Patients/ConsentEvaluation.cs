using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>
/// What an actor may have: the released categories in request order, the consents that released
/// them (sorted), and why nothing was released when nothing was.
/// </summary>
public sealed record ConsentEvaluation(
    IReadOnlyList<Category> Released, IReadOnlyList<Guid> ConsentIds, string? DenialReason)
{
    public bool IsGranted => Released.Count > 0;
}

/// <summary>Reasons recorded in <see cref="AccessDenied"/>. Stable texts: the audit view shows them.</summary>
public static class DenialReasons
{
    public const string NoConsent = "no active consent covers the request";
    public const string ResearchersGetAggregatesOnly = "researchers receive aggregates only";
    public const string BreakGlassNeedsPhysician = "break-glass requires a physician";
    public const string PatientForgotten = "the patient has been forgotten";
}
