using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record GranteeInput(string Kind, string Id);

public sealed record GrantConsentCommand(
    Guid PatientId, Guid? ConsentId, GranteeInput Grantee, IReadOnlyList<string> Categories, IReadOnlyList<string> Purposes,
    IReadOnlyList<string> Actions, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil, CommandContext Context,
    PatientSignature? Signature = null)
    : IRequest<ConsentGrantedResult>;

public sealed record ConsentGrantedResult(Guid ConsentId, Receipt Receipt);

public sealed class GrantConsentValidator : AbstractValidator<GrantConsentCommand>
{
    /// <summary>Shorthand for every category that is not sensitive: a general consent never releases the sensitive ones.</summary>
    public const string AllGeneral = "all";

    public GrantConsentValidator(NetworkDirectory network)
    {
        RuleFor(c => c.ConsentId).NotEqual(Guid.Empty);
        RuleFor(c => c.Grantee).NotNull().WithMessage("A consent must name a grantee.");
        RuleFor(c => c.Grantee.Kind).OneOf<GrantConsentCommand, GranteeKind>().When(c => c.Grantee is not null);
        RuleFor(c => c.Grantee.Id).ShortText(200).When(c => c.Grantee is not null);
        RuleFor(c => c.Grantee.Id).OneOf<GrantConsentCommand, Role>()
            .When(c => c.Grantee is { Kind: "role" });
        // The grantee must exist in the network at the time of the grant (the endorsers check it again); otherwise
        // the patient would see an active consent to nobody while the one they meant is refused.
        RuleFor(c => c.Grantee.Id).Custom((id, context) =>
            {
                var grantee = Grantee(context.InstanceToValidate.Grantee);
                if (network.Current.GranteeProblem(grantee) is { } problem) context.AddFailure("Grantee.Id", problem);
            })
            .When(c => c.Grantee is { Id.Length: > 0 and <= 200 } g && KebabCase.TryParse<GranteeKind>(g.Kind, out _));
        RuleFor(c => c.Categories).NonEmptyListOf<GrantConsentCommand, Category>(AllGeneral);
        RuleFor(c => c.Purposes).NonEmptyListOf<GrantConsentCommand, Purpose>();
        RuleFor(c => c.Actions).NonEmptyListOf<GrantConsentCommand, AccessAction>();
        RuleFor(c => c.ValidUntil).GreaterThan(c => c.ValidFrom).When(c => c.ValidFrom is not null && c.ValidUntil is not null)
            .WithMessage("validUntil must be after validFrom.");
    }

    /// <summary>The grantee as the domain names it: its id in Unicode normalisation form C, compared exactly from then on.</summary>
    public static Grantee Grantee(GranteeInput input) =>
        new(ValidationRules.Parse<GranteeKind>(input.Kind), Identifiers.Normalize(input.Id)!);

    public static IReadOnlyList<Category> Expand(IEnumerable<string> categories) =>
        categories.SelectMany(c => c == AllGeneral
                ? Domain.Common.Categories.All.Where(x => !x.IsSensitive())
                : [ValidationRules.Parse<Category>(c)])
            .Distinct()
            .ToList();
}

public sealed class GrantConsentHandler(PatientStream patients) : IRequestHandler<GrantConsentCommand, ConsentGrantedResult>
{
    public async ValueTask<ConsentGrantedResult> Handle(GrantConsentCommand c, CancellationToken ct)
    {
        var consentId = c.ConsentId ?? Guid.NewGuid();
        var result = await patients.ExecuteAsync(c.PatientId, at => new GrantConsent(
            consentId,
            GrantConsentValidator.Grantee(c.Grantee),
            GrantConsentValidator.Expand(c.Categories),
            ValidationRules.ParseAll<Purpose>(c.Purposes),
            ValidationRules.ParseAll<AccessAction>(c.Actions),
            (c.ValidFrom ?? at).ToUniversalTime(),
            c.ValidUntil?.ToUniversalTime(),
            c.Context.Actor, at, c.Signature), c.Context, ct);
        return new(consentId, result.Receipt);
    }
}
