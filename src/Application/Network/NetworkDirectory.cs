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
    private long _refreshedAt = -1; // Environment.TickCount64 of the last read; -1: never read

    public NetworkState Current => _current;

    public async Task<NetworkState> RefreshAsync(CancellationToken ct = default)
    {
        var started = Environment.TickCount64;
        var snapshot = await loader.LoadAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(NetworkStream.StreamId, ct);
        _current = snapshot.State;
        Interlocked.Exchange(ref _refreshedAt, started);
        return snapshot.State;
    }

    /// <summary>The network as read no longer than <paramref name="maxAge"/> ago (reading only what was appended since).</summary>
    public Task<NetworkState> FreshAsync(TimeSpan maxAge, CancellationToken ct = default) =>
        Interlocked.Read(ref _refreshedAt) is >= 0 and var at && Environment.TickCount64 - at <= maxAge.TotalMilliseconds
            ? Task.FromResult(_current)
            : RefreshAsync(ct);
}
