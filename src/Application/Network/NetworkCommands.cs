using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Network;

/// <summary>The network stream's entry point: membership, keys, practitioners, researchers, policies and proposals.</summary>
public sealed class NetworkCommands(CommandExecutor executor, IClock clock, NetworkDirectory directory)
{
    public const string StreamId = "network";

    public async Task<CommandResult<INetworkEvent>> ExecuteAsync(
        Func<DateTimeOffset, INetworkCommand> command, CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        var decided = command(at);
        // The genesis founds the network unendorsed (see EndorsementService) and may admit its founding members
        // directly; every other command, and every endorser's re-run, goes by the NetworkDecider's rules.
        var result = decided.Actor.Id == EndorsementChecker.GenesisActor
            ? await executor.ExecuteAsync<NetworkFoundingDecider, NetworkState, INetworkCommand, INetworkEvent>(StreamId, decided, at, context, ct)
            : await executor.ExecuteAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(StreamId, decided, at, context, ct);
        await directory.RefreshAsync(ct);
        return result;
    }
}
