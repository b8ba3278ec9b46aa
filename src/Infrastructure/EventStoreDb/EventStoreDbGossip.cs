using System.Net;
using Grpc.Core;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// One member of an EventStoreDB cluster as gossip reports it: where clients reach it (its HTTP endpoint, which
/// serves gRPC too), its state (<c>Leader</c>, <c>Follower</c>, <c>Unknown</c> for a node the others lost, ...) and
/// whether the others see it alive.
/// </summary>
public sealed record EventStoreDbMember(string Host, int Port, string State, bool IsAlive)
{
    /// <summary>The node that takes writes: alive and in state Leader.</summary>
    public bool IsLeader => IsAlive && State == nameof(MemberInfo.Types.VNodeState.Leader);

    public string Endpoint => $"{Host}:{Port}";
}

/// <summary>The cluster as the gossip of the node at <see cref="AnsweredBy"/> (host:port) saw it.</summary>
public sealed record EventStoreDbCluster(IReadOnlyList<EventStoreDbMember> Members, string AnsweredBy)
{
    /// <summary>The leader, or null while none is elected (an election, or too few nodes alive).</summary>
    public EventStoreDbMember? Leader => Members.FirstOrDefault(m => m.IsLeader);
}

/// <summary>
/// Finding the leader from gossip seeds, over EventStoreDB's gRPC gossip service
/// (<c>event_store.client.gossip.Gossip/Read</c>, served on the client port by 20.6 and later, 22.10 included; the
/// same facts are on HTTP at <c>/gossip</c>). A round asks the members learned so far and the seeds, in random order,
/// each at most once and each within the gossip timeout, and ends at the first answer that names an alive leader.
/// Concurrent callers share one round, so a failover makes one burst of gossip, not one per waiting call. A node that
/// answers but serves no gossip (a proxy, say) is taken as the node to talk to: its not-leader answers still lead on.
/// </summary>
internal sealed class EventStoreDbGossip(EventStoreDbSettings settings, Func<Uri, CallInvoker> invokerFor, Func<CancellationToken, CallOptions> options)
{
    private readonly Lock _lock = new();
    private Task<Uri?>? _round;
    private IReadOnlyList<DnsEndPoint> _members = [];
    private long _calls;

    /// <summary>Gossip requests sent (each is a server round trip).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>The leader's gRPC address, or null when no node reached names one now. Concurrent callers share one round.</summary>
    public Task<Uri?> FindLeaderAsync(CancellationToken ct)
    {
        Task<Uri?> round;
        lock (_lock)
        {
            if (_round is null || _round.IsCompleted) _round = RoundAsync();
            round = _round;
        }
        return round.WaitAsync(ct);
    }

    private async Task<Uri?> RoundAsync()
    {
        var candidates = _members.Concat(settings.Hosts)
            .DistinctBy(h => $"{h.Host}:{h.Port}", StringComparer.OrdinalIgnoreCase)
            .OrderBy(_ => Random.Shared.Next())
            .ToList();
        foreach (var node in candidates)
        {
            try
            {
                var cluster = await ReadAsync(node, CancellationToken.None);
                if (cluster.Leader is { } leader) return settings.AddressOf(new DnsEndPoint(leader.Host, leader.Port));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                return settings.AddressOf(node); // no gossip there: talk to the node itself
            }
            catch (RpcException)
            {
                // unreachable, or too slow: ask the next one
            }
        }
        return null;
    }

    /// <summary>The cluster as <paramref name="node"/> sees it; remembers its members as candidates for later rounds.</summary>
    /// <exception cref="RpcException">The node did not answer within the gossip timeout, or refused.</exception>
    public async Task<EventStoreDbCluster> ReadAsync(DnsEndPoint node, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        var client = new Gossip.GossipClient(invokerFor(settings.AddressOf(node)));
        var info = await client.ReadAsync(new Empty(), options(ct).WithDeadline(DateTime.UtcNow + settings.GossipTimeout));
        var members = info.Members
            .Where(m => m.HttpEndPoint is { Address.Length: > 0, Port: > 0 and <= 65535 })
            .Select(m => new EventStoreDbMember(m.HttpEndPoint.Address, (int)m.HttpEndPoint.Port, m.State.ToString(), m.IsAlive))
            .OrderBy(m => m.Endpoint, StringComparer.Ordinal)
            .ToList();
        if (members.Count > 0)
            lock (_lock) _members = members.Select(m => new DnsEndPoint(m.Host, m.Port)).ToList();
        return new EventStoreDbCluster(members, $"{node.Host}:{node.Port}");
    }
}
