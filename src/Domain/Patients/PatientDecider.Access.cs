using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record RequestAccess(
    Guid AccessId, Purpose Purpose, IReadOnlyList<Category> Categories, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record UseEmergencyAccess(Guid AccessId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

[EventType("access.granted.v1")]
public sealed record AccessGranted(
    Guid AccessId,
    Actor Actor,
    Purpose Purpose,
    IReadOnlyList<Category> CategoriesRequested,
    IReadOnlyList<Category> CategoriesReleased,
    IReadOnlyList<Guid> ConsentIds) : IPatientEvent;

/// <summary>Recorded rather than rejected, so the patient sees every attempt.</summary>
[EventType("access.denied.v1")]
public sealed record AccessDenied(
    Guid AccessId,
    Actor Actor,
    Purpose Purpose,
    IReadOnlyList<Category> CategoriesRequested,
    string Reason) : IPatientEvent;

/// <summary>Break-glass: released without consent, and shown prominently in the patient's audit view.</summary>
[EventType("access.emergency-used.v1")]
public sealed record EmergencyAccessUsed(
    Guid AccessId, Actor Actor, string Reason, IReadOnlyList<Category> CategoriesReleased) : IPatientEvent;

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

public sealed partial class PatientDecider
{
    /// <summary>
    /// What <paramref name="actor"/> may have of <paramref name="requested"/> for this purpose and action
    /// at this time. Pure, so the application can ask it outside a command.
    /// </summary>
    public static ConsentEvaluation Evaluate(
        PatientState state, Actor actor, Purpose purpose, IReadOnlyCollection<Category> requested,
        AccessAction action, DateTimeOffset at)
    {
        if (state.Forgotten)
            return Nothing(DenialReasons.PatientForgotten);
        if (actor.Role == Role.Researcher)
            return Nothing(DenialReasons.ResearchersGetAggregatesOnly);
        if (action == AccessAction.Read && state.IsThePatient(actor))
            return new ConsentEvaluation([.. requested.Distinct()], [], null);

        var allowed = new HashSet<Category>();
        var used = new List<Guid>();
        foreach (var (consentId, consent) in state.Consents)
        {
            if (!consent.Allows(actor, purpose, action, at))
                continue;
            // Categories in a consent are explicit, so a sensitive category is released only
            // by a consent that lists it; no consent ever implies one.
            var contributes = false;
            foreach (var category in requested)
            {
                if (consent.Categories.Contains(category))
                {
                    allowed.Add(category);
                    contributes = true;
                }
            }
            if (contributes)
                used.Add(consentId);
        }

        if (allowed.Count == 0)
            return Nothing(DenialReasons.NoConsent);
        used.Sort();
        return new ConsentEvaluation([.. requested.Distinct().Where(allowed.Contains)], used, null);
    }

    private static ConsentEvaluation Nothing(string reason) => new([], [], reason);

    private static IReadOnlyList<IPatientEvent> Request(RequestAccess command, PatientState state)
    {
        if (command.Categories.Count == 0)
            throw RejectedException.Invalid("categories-required", "An access request names at least one category.");

        var evaluation = Evaluate(state, command.Actor, command.Purpose, command.Categories, AccessAction.Read, command.At);
        return evaluation.IsGranted
            ? [new AccessGranted(command.AccessId, command.Actor, command.Purpose, [.. command.Categories], evaluation.Released, evaluation.ConsentIds)]
            : [new AccessDenied(command.AccessId, command.Actor, command.Purpose, [.. command.Categories], evaluation.DenialReason ?? DenialReasons.NoConsent)];
    }

    private static IReadOnlyList<IPatientEvent> BreakGlass(UseEmergencyAccess command)
    {
        if (IsBlank(command.Reason))
            throw RejectedException.Invalid("reason-required", "Emergency access needs a reason.");
        // Recorded, not rejected: an attempted break-glass is exactly what the patient should see.
        if (command.Actor.Role != Role.Physician)
            return [new AccessDenied(command.AccessId, command.Actor, Purpose.Treatment, [.. Categories.All], DenialReasons.BreakGlassNeedsPhysician)];

        return [new EmergencyAccessUsed(command.AccessId, command.Actor, command.Reason, [.. Categories.All])];
    }
}
