using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

/// <summary>
/// "Why can or can't they see it?" about the patient's record, now. The patient names whom they ask about: a registered
/// practitioner or researcher (<paramref name="Grantee"/>), or anyone of a role at a hospital (<paramref name="GranteeRole"/>
/// and <paramref name="GranteeHospital"/>). A practitioner asks about themselves only (no grantee, or their own id).
/// <paramref name="Categories"/> are category names or "all" (every general category).
/// </summary>
public sealed record ExplainAccessQuery(
    Guid PatientId, string? Grantee, string? GranteeRole, string? GranteeHospital, string? Purpose, IReadOnlyList<string>? Categories,
    CommandContext Context) : IRequest<AccessExplanationView>;

/// <summary>Who the explanation is about: a practitioner or researcher by id, or (id null) anyone of the role at the hospital.</summary>
public sealed record ExplainedGrantee(string? Id, Role Role, string Hospital);

/// <summary>A consent that allows what is released, as the patient granted it.</summary>
public sealed record ExplainedConsent(
    Guid ConsentId, Grantee Grantee, IReadOnlyList<Category> Categories, IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<AccessAction> Actions, DateTimeOffset ValidFrom, DateTimeOffset? ValidUntil);

/// <summary>
/// The decision an access request (read) would get at <see cref="At"/>: <see cref="Decision"/> is "granted" (all asked),
/// "partly-granted" or "denied"; <see cref="Released"/> under <see cref="Consents"/>; <see cref="Withheld"/> for
/// <see cref="Reason"/> (the domain's denial text). <see cref="Receipt"/>: the recorded question (a practitioner's), else null.
/// </summary>
public sealed record AccessExplanationView(
    ExplainedGrantee Grantee, Purpose Purpose, string Decision, IReadOnlyList<Category> Requested, IReadOnlyList<Category> Released,
    IReadOnlyList<Category> Withheld, string? Reason, IReadOnlyList<ExplainedConsent> Consents, DateTimeOffset At, Receipt? Receipt);

public sealed class ExplainAccessValidator : AbstractValidator<ExplainAccessQuery>
{
    public ExplainAccessValidator()
    {
        RuleFor(c => c.Purpose).OneOf<ExplainAccessQuery, Purpose>();
        RuleFor(c => c.Categories).NonEmptyListOf<ExplainAccessQuery, Category>(GrantConsentValidator.AllGeneral).OverridePropertyName("category");
        RuleFor(c => c.Grantee).MaximumLength(200);
        RuleFor(c => c.GranteeHospital).MaximumLength(200);
        RuleFor(c => c.GranteeRole).Must(r => r is null || (KebabCase.TryParse<Role>(r, out var role) && role != Role.Patient))
            .WithMessage("A grantee role is one of the staff roles or researcher.");
        RuleFor(c => c.Grantee).Null().When(c => c.GranteeRole is not null || c.GranteeHospital is not null)
            .WithMessage("Name the grantee by id, or by role and hospital, not both.");
        RuleFor(c => c.GranteeRole).NotNull().When(c => c.GranteeHospital is not null).WithMessage("A hospital is asked about with a role.");
        RuleFor(c => c.GranteeHospital).NotNull().When(c => c.GranteeRole is not null).WithMessage("A role is asked about at a hospital.");
    }
}

/// <summary>
/// The patient's question is answered from their stream's state with <see cref="PatientDecider.Explain"/>, and not
/// recorded (the patient's own view). A practitioner's question goes the command path — decided, endorsed and appended
/// as <see cref="AccessExplained"/> — and is answered from that event.
/// </summary>
public sealed class ExplainAccessHandler(PatientStream commands, PatientDirectory patients, NetworkDirectory network, IClock clock)
    : IRequestHandler<ExplainAccessQuery, AccessExplanationView>
{
    public async ValueTask<AccessExplanationView> Handle(ExplainAccessQuery q, CancellationToken ct)
    {
        var actor = q.Context.Actor;
        var purpose = ValidationRules.Parse<Purpose>(q.Purpose!);
        var categories = GrantConsentValidator.Expand(q.Categories!);
        if (actor.Role == Role.Patient)
        {
            // Refused before anything is read about the patient: an unknown patient and someone else's look the same.
            if (!actor.IsPatient(q.PatientId))
                throw RejectedException.Forbidden("not-the-patient", "A patient asks about their own record only.");
            var state = await patients.StateAsync(q.PatientId, ct);
            if (!state.IsThePatient(actor))
                throw RejectedException.Forbidden("not-the-patient", "A patient asks about their own record only.");
            if (q.Grantee is null && q.GranteeRole is null)
                throw RejectedException.Invalid("grantee-required", "Name whom to explain: a grantee id, or a grantee role and hospital.");
            var (grantee, asked) = Resolve(q, network.Current);
            var at = clock.UtcNow;
            return View(grantee, purpose, PatientDecider.Explain(state, asked, purpose, categories, at), state, at, receipt: null);
        }
        if (!actor.IsPractitioner)
            throw RejectedException.Forbidden("practitioners-only", "Only the patient, or practitioners about themselves, ask what may be seen.");
        if (q.GranteeRole is not null || (q.Grantee is not null && !string.Equals(Identifiers.Normalize(q.Grantee), actor.Id, StringComparison.Ordinal)))
            throw RejectedException.Forbidden("about-themselves-only", "A practitioner asks only what they themselves may see.");

        var explanationId = DeterministicIds.EventId(q.Context.CommandId, -1);
        var decidedAt = default(DateTimeOffset);
        var result = await commands.ExecuteAsync(q.PatientId, at =>
        {
            decidedAt = at;
            return new ExplainAccess(explanationId, purpose, categories, actor, at);
        }, q.Context, ct);
        var e = (AccessExplained)result.Events.Single();
        var explanation = new AccessExplanation(e.CategoriesRequested, e.CategoriesReleased,
            [.. e.CategoriesRequested.Where(c => !e.CategoriesReleased.Contains(c))], e.ConsentIds, e.Reason);
        // The consents are read back for their terms only; which of them allow it is the recorded event's.
        var after = await patients.StateAsync(q.PatientId, ct);
        return View(new ExplainedGrantee(actor.Id, actor.Role, actor.Hospital), purpose, explanation, after, decidedAt, result.Receipt);
    }

    /// <summary>The actor the patient asks about, as the network registers them; an unknown one is a 400.</summary>
    private static (ExplainedGrantee Grantee, Actor Actor) Resolve(ExplainAccessQuery q, NetworkState network)
    {
        if (q.Grantee is { } raw)
        {
            var id = Identifiers.Normalize(raw)!;
            if (network.Practitioners.TryGetValue(id, out var practitioner))
                return (new(id, practitioner.Role, practitioner.HospitalId), new Actor(id, practitioner.Role, practitioner.HospitalId));
            if (network.Researchers.TryGetValue(id, out var researcher))
            {
                var organisation = researcher.Hospital ?? researcher.Organisation;
                return (new(id, Role.Researcher, organisation), new Actor(id, Role.Researcher, organisation));
            }
            throw RejectedException.Invalid("unknown-grantee", "The grantee is not a practitioner or researcher of the network.");
        }
        var hospital = Identifiers.Normalize(q.GranteeHospital)!;
        if (!network.IsMember(hospital))
            throw RejectedException.Invalid("unknown-grantee", "The grantee hospital is not a member of the network.");
        var role = ValidationRules.Parse<Role>(q.GranteeRole!);
        // Anyone of the role there: no practitioner id, so a grant to one named practitioner does not count.
        return (new(null, role, hospital), new Actor("", role, hospital));
    }

    private static AccessExplanationView View(
        ExplainedGrantee grantee, Purpose purpose, AccessExplanation e, PatientState state, DateTimeOffset at, Receipt? receipt)
    {
        var consents = e.ConsentIds.Where(state.Consents.ContainsKey).Select(id =>
        {
            var c = state.Consents[id];
            return new ExplainedConsent(id, c.Grantee, c.Categories, c.Purposes, c.Actions, c.ValidFrom, c.ValidUntil);
        }).ToList();
        var decision = e.Released.Count == 0 ? "denied" : e.AllReleased ? "granted" : "partly-granted";
        return new(grantee, purpose, decision, e.Requested, e.Released, e.Withheld, e.Reason, consents, at, receipt);
    }
}
