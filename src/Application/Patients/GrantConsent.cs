using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record GranteeInput(string Kind, string Id);

public sealed record GrantConsentCommand(
    Guid PatientId, Guid? ConsentId, GranteeInput Grantee, IReadOnlyList<string> Categories, IReadOnlyList<string> Purposes,
    IReadOnlyList<string> Actions, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil, CommandContext Context)
    : IRequest<ConsentGrantedResult>;

public sealed record ConsentGrantedResult(Guid ConsentId, Receipt Receipt);

public sealed class GrantConsentValidator : AbstractValidator<GrantConsentCommand>
{
    /// <summary>Shorthand for every category that is not sensitive: a general consent never releases the sensitive ones.</summary>
    public const string AllGeneral = "all";

    public GrantConsentValidator()
    {
        RuleFor(c => c.ConsentId).NotEqual(Guid.Empty);
        RuleFor(c => c.Grantee).NotNull().WithMessage("A consent must name a grantee.");
        RuleFor(c => c.Grantee.Kind).OneOf<GrantConsentCommand, GranteeKind>().When(c => c.Grantee is not null);
        RuleFor(c => c.Grantee.Id).ShortText(200).When(c => c.Grantee is not null);
        RuleFor(c => c.Grantee.Id).OneOf<GrantConsentCommand, Role>()
            .When(c => c.Grantee is { Kind: "role" });
        RuleFor(c => c.Categories).NonEmptyListOf<GrantConsentCommand, Category>(AllGeneral);
        RuleFor(c => c.Purposes).NonEmptyListOf<GrantConsentCommand, Purpose>();
        RuleFor(c => c.Actions).NonEmptyListOf<GrantConsentCommand, AccessAction>();
        RuleFor(c => c.ValidUntil).GreaterThan(c => c.ValidFrom).When(c => c.ValidFrom is not null && c.ValidUntil is not null)
            .WithMessage("validUntil must be after validFrom.");
    }

    public static IReadOnlyList<Category> Expand(IEnumerable<string> categories) =>
        categories.SelectMany(c => c == AllGeneral
                ? Domain.Common.Categories.All.Where(x => !x.IsSensitive())
                : [ValidationRules.Parse<Category>(c)])
            .Distinct()
            .ToList();
}

public sealed class GrantConsentHandler(PatientCommands patients) : IRequestHandler<GrantConsentCommand, ConsentGrantedResult>
{
    public async ValueTask<ConsentGrantedResult> Handle(GrantConsentCommand c, CancellationToken ct)
    {
        var consentId = c.ConsentId ?? Guid.NewGuid();
        var result = await patients.ExecuteAsync(c.PatientId, at => new GrantConsent(
            consentId,
            new Grantee(ValidationRules.Parse<GranteeKind>(c.Grantee.Kind), c.Grantee.Id),
            GrantConsentValidator.Expand(c.Categories),
            ValidationRules.ParseAll<Purpose>(c.Purposes),
            ValidationRules.ParseAll<AccessAction>(c.Actions),
            (c.ValidFrom ?? at).ToUniversalTime(),
            c.ValidUntil?.ToUniversalTime(),
            c.Context.Actor, at), c.Context, ct);
        return new(consentId, result.Receipt);
    }
}
