using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Network;

/// <summary>The network stream's entry point: membership, keys, practitioners, researchers, policies and proposals.</summary>
public sealed class NetworkStream(CommandExecutor executor, IClock clock, NetworkDirectory directory)
{
    public const string StreamId = "network";

    public async Task<CommandResult<INetworkEvent>> ExecuteAsync(
        Func<DateTimeOffset, INetworkCommand> command, CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        var result = await executor.ExecuteAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(StreamId, command(at), at, context, ct);
        await directory.RefreshAsync(ct);
        return result;
    }
}
