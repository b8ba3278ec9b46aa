using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>A hospital to admit, as the proposer sends it: the fields of the genesis file's hospitals, with explicit key ids.</summary>
public sealed record HospitalInput(
    string? Id, string? Name, string? EndorserEndpoint,
    string? EndorsementKeyId, string? EndorsementPublicKey, string? IdentityKeyId, string? IdentityPublicKey);

/// <param name="Kind">admit-hospital (with <paramref name="Hospital"/>), endorsement-policy or membership-policy (with <paramref name="Policy"/>).</param>
public sealed record ProposeNetworkChangeCommand(Guid? ProposalId, string Kind, HospitalInput? Hospital, string? Policy, CommandContext Context)
    : IRequest<NetworkChangeResult>;

public sealed class ProposeNetworkChangeValidator : AbstractValidator<ProposeNetworkChangeCommand>
{
    public ProposeNetworkChangeValidator()
    {
        RuleFor(c => c.ProposalId).NotEqual(Guid.Empty);
        RuleFor(c => c.Kind).OneOf<ProposeNetworkChangeCommand, NetworkChangeKind>();
        When(c => c.Kind == KebabCase.Of(NetworkChangeKind.AdmitHospital), () =>
        {
            RuleFor(c => c.Hospital).NotNull().WithMessage("The hospital to admit is required.");
            RuleFor(c => c.Policy).Null().WithMessage("An admission carries no policy.");
            RuleFor(c => c.Hospital!).ChildRules(h =>
            {
                // The id must be nameable in a policy: a principal's characters, and not the word 'home'.
                h.RuleFor(x => x.Id).NotEmpty().MaximumLength(63).Matches("^[A-Za-z0-9_-]+$")
                    .Must(id => !string.Equals(id, "home", StringComparison.OrdinalIgnoreCase))
                    .WithMessage("A hospital id is letters, digits, '-' or '_', and not 'home'.");
                h.RuleFor(x => x.Name).ShortText(200);
                h.RuleFor(x => x.EndorserEndpoint).ShortText(500);
                h.RuleFor(x => x.EndorsementKeyId).ShortText(200);
                h.RuleFor(x => x.IdentityKeyId).ShortText(200);
                h.RuleFor(x => x.EndorsementPublicKey).ShortText(4000);
                h.RuleFor(x => x.IdentityPublicKey).ShortText(4000);
            }).When(c => c.Hospital is not null);
        });
        When(c => c.Kind is not null && c.Kind != KebabCase.Of(NetworkChangeKind.AdmitHospital), () =>
        {
            RuleFor(c => c.Hospital).Null().WithMessage("A policy change carries no hospital.");
            RuleFor(c => c.Policy).NotEmpty().MaximumLength(EndorsementPolicy.MaxLength)
                .Must(p => EndorsementPolicy.TryParse(p, out _, out _))
                .WithMessage((command, p) => EndorsementPolicy.TryParse(p, out _, out var error) ? "" : error!);
        });
    }
}

public sealed class ProposeNetworkChangeHandler(NetworkStream network, NetworkDirectory directory)
    : IRequestHandler<ProposeNetworkChangeCommand, NetworkChangeResult>
{
    public async ValueTask<NetworkChangeResult> Handle(ProposeNetworkChangeCommand c, CancellationToken ct)
    {
        var proposalId = c.ProposalId ?? Guid.NewGuid();
        var change = ValidationRules.Parse<NetworkChangeKind>(c.Kind) switch
        {
            NetworkChangeKind.AdmitHospital => NetworkChange.Admit(new HospitalAdmission(
                c.Hospital!.Id!, c.Hospital.Name!.Trim(), c.Hospital.EndorserEndpoint!.Trim(), c.Hospital.EndorsementKeyId!,
                c.Hospital.EndorsementPublicKey!, c.Hospital.IdentityKeyId!, c.Hospital.IdentityPublicKey!)),
            NetworkChangeKind.EndorsementPolicy => NetworkChange.EndorsementPolicy(c.Policy!),
            _ => NetworkChange.MembershipPolicy(c.Policy!),
        };
        var result = await network.ExecuteAsync(at => new ProposeNetworkChange(proposalId, change, c.Context.Actor, at), c.Context, ct);
        return NetworkChangeResults.Of(proposalId, result, directory.Current);
    }
}
