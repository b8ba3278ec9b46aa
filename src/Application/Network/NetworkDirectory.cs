using HealthEvents.Application.Commands;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Network;

/// <summary>
/// The network's current membership, kept in memory for the hot paths that must not wait on the
/// database (token validation runs synchronously). Refreshed after each network command and
/// periodically, so changes made by other nodes arrive within seconds.
/// </summary>
public sealed class NetworkDirectory(StreamLoader loader)
{
    private volatile NetworkState _current = NetworkState.Empty;

    public NetworkState Current => _current;

    public async Task<NetworkState> RefreshAsync(CancellationToken ct = default)
    {
        var snapshot = await loader.LoadAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(NetworkCommands.StreamId, ct);
        _current = snapshot.State;
        return snapshot.State;
    }
}
