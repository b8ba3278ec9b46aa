using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>An admin approves an open proposal for their hospital; the approval that satisfies the membership policy enacts it.</summary>
public sealed record ApproveNetworkChangeCommand(Guid ProposalId, CommandContext Context) : IRequest<NetworkChangeResult>;

public sealed class ApproveNetworkChangeValidator : AbstractValidator<ApproveNetworkChangeCommand>
{
    public ApproveNetworkChangeValidator() => RuleFor(c => c.ProposalId).NotEqual(Guid.Empty);
}

public sealed class ApproveNetworkChangeHandler(NetworkStream network, NetworkDirectory directory)
    : IRequestHandler<ApproveNetworkChangeCommand, NetworkChangeResult>
{
    public async ValueTask<NetworkChangeResult> Handle(ApproveNetworkChangeCommand c, CancellationToken ct)
    {
        var result = await network.ExecuteAsync(at => new ApproveNetworkChange(c.ProposalId, c.Context.Actor, at), c.Context, ct);
        return NetworkChangeResults.Of(c.ProposalId, result, directory.Current);
    }
}
