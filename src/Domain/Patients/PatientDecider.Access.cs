using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

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

    /// <summary>
    /// <see cref="Evaluate"/> for reading, told as an answer: what would be released and under which consents, and why
    /// the rest would not be. The reason for a partly released request is Evaluate's own for the withheld categories
    /// alone, so no rule is stated twice.
    /// </summary>
    public static AccessExplanation Explain(PatientState state, Actor actor, Purpose purpose, IReadOnlyCollection<Category> requested, DateTimeOffset at)
    {
        var asked = requested.Distinct().ToList();
        var evaluation = Evaluate(state, actor, purpose, asked, AccessAction.Read, at);
        var withheld = asked.Where(c => !evaluation.Released.Contains(c)).ToList();
        var reason = withheld.Count == 0 ? null
            : evaluation.DenialReason ?? Evaluate(state, actor, purpose, withheld, AccessAction.Read, at).DenialReason ?? DenialReasons.NoConsent;
        return new AccessExplanation(asked, evaluation.Released, withheld, evaluation.ConsentIds, reason);
    }

    private static IReadOnlyList<IPatientEvent> Request(RequestAccess command, PatientState state)
    {
        if (command.Categories.Count == 0)
            throw RejectedException.Invalid("categories-required", "An access request names at least one category.");

        var evaluation = Evaluate(state, command.Actor, command.Purpose, command.Categories, AccessAction.Read, command.At);
        return evaluation.IsGranted
            ? [new AccessGranted(command.AccessId, command.Actor, command.Purpose, [.. command.Categories], evaluation.Released, evaluation.ConsentIds)]
            : [new AccessDenied(command.AccessId, command.Actor, command.Purpose, [.. command.Categories], evaluation.DenialReason ?? DenialReasons.NoConsent)];
    }

    private static IReadOnlyList<IPatientEvent> ExplainTo(ExplainAccess command, PatientState state)
    {
        if (command.Categories.Count == 0)
            throw RejectedException.Invalid("categories-required", "An access question names at least one category.");
        // The patient asks about anyone without a record of it (their own view); staff ask about themselves, and that is
        // on the record. Researchers never act on a person's record, so they do not ask about one either.
        if (!command.Actor.IsPractitioner)
            throw RejectedException.Forbidden("practitioners-only", "Only practitioners ask, about themselves, what they may see.");
        var explanation = Explain(state, command.Actor, command.Purpose, command.Categories, command.At);
        return [new AccessExplained(command.ExplanationId, command.Actor, command.Purpose, explanation.Requested,
            explanation.Released, explanation.ConsentIds, explanation.Reason)];
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
