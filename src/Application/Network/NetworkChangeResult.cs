using HealthEvents.Application.Commands;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Network;

/// <summary>Where a proposal stands after a command (a proposal or an approval): enacted or not, and which hospitals approved it so far.</summary>
public sealed record NetworkChangeResult(Guid ProposalId, bool Enacted, IReadOnlyList<string> ApprovedBy, Receipt Receipt);

public static class NetworkChangeResults
{
    public static NetworkChangeResult Of(Guid proposalId, CommandResult<INetworkEvent> result, NetworkState network)
    {
        var enacted = result.Events.OfType<ChangeEnacted>().Any(e => e.ProposalId == proposalId);
        // The directory was refreshed after the append, so it holds at least this command's approval.
        var approvedBy = network.Proposals.TryGetValue(proposalId, out var proposal) ? proposal.ApprovedBy : [];
        return new(proposalId, enacted || proposal is { Enacted: true }, approvedBy, result.Receipt);
    }
}
