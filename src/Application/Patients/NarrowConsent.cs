using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

/// <summary>
/// The patient narrows one of their consents: what it keeps (a null list keeps that part whole) or an earlier end.
/// Whether it is narrower is the decider's call, against the consent as the stream holds it.
/// </summary>
public sealed record NarrowConsentCommand(
    Guid PatientId, Guid ConsentId, IReadOnlyList<string>? Categories, IReadOnlyList<string>? Purposes,
    IReadOnlyList<string>? Actions, DateTimeOffset? ValidUntil, CommandContext Context, PatientSignature? Signature = null) : IRequest<Receipt>;

public sealed class NarrowConsentValidator : AbstractValidator<NarrowConsentCommand>
{
    public NarrowConsentValidator()
    {
        RuleFor(c => c).Must(c => c.Categories is not null || c.Purposes is not null || c.Actions is not null || c.ValidUntil is not null)
            .OverridePropertyName("body").WithMessage("Name what the consent keeps (categories, purposes, actions) or an earlier validUntil.");
        RuleFor(c => c.Categories).Categories().When(c => c.Categories is not null);
        RuleFor(c => c.Purposes).NonEmptyListOf<NarrowConsentCommand, Purpose>().When(c => c.Purposes is not null);
        RuleFor(c => c.Actions).NonEmptyListOf<NarrowConsentCommand, AccessAction>().When(c => c.Actions is not null);
    }
}

public sealed class NarrowConsentHandler(PatientStream patients) : IRequestHandler<NarrowConsentCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(NarrowConsentCommand c, CancellationToken ct) =>
        (await patients.ExecuteAsync(c.PatientId, at => new NarrowConsent(
            c.ConsentId,
            c.Categories is null ? null : ValidationRules.ParseCategories(c.Categories),
            c.Purposes is null ? null : ValidationRules.ParseAll<Purpose>(c.Purposes),
            c.Actions is null ? null : ValidationRules.ParseAll<AccessAction>(c.Actions),
            c.ValidUntil?.ToUniversalTime(),
            c.Context.Actor, at, c.Signature), c.Context, ct)).Receipt;
}
