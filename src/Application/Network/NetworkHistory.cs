using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Network;

/// <summary>
/// The network as it stood at any moment, for checking old signatures against the members, keys and policy
/// of their time. Built from the <c>network</c> stream's envelopes: each event takes effect at its metadata's
/// OccurredAt. <see cref="StateAt"/> folds, in stream order, every event that occurred at or before the time
/// (so clocks that disagree between nodes cannot reorder the stream, only delay an event's effect); the
/// states are computed once, so each lookup is a binary search. Which key was valid when is then
/// <see cref="NetworkState.KeyAt"/>'s business: a rotation takes effect at its EffectiveFrom, not when recorded.
/// </summary>
public sealed class NetworkHistory
{
    private readonly long[] _versions;
    private readonly NetworkState[] _byVersion;
    private readonly DateTimeOffset[] _times;
    private readonly NetworkState[] _byTime;

    private NetworkHistory(IReadOnlyList<(long Version, DateTimeOffset At, INetworkEvent Event)> entries, int unreadable)
    {
        Unreadable = unreadable;
        _versions = [.. entries.Select(e => e.Version)];
        _byVersion = new NetworkState[entries.Count];
        var state = NetworkDecider.Initial;
        for (var i = 0; i < entries.Count; i++) _byVersion[i] = state = NetworkDecider.Evolve(state, entries[i].Event);

        // By time: at each distinct time, the fold of every event that occurred by then, in stream order.
        // Extending the previous state is exact while times follow the stream order; an event that occurred
        // earlier than one already applied forces a fold from scratch.
        var byTime = entries.Select((e, i) => (e.At, Index: i)).OrderBy(e => e.At).ThenBy(e => e.Index).ToList();
        var times = new List<DateTimeOffset>();
        var states = new List<NetworkState>();
        var included = new SortedSet<int>();
        state = NetworkDecider.Initial;
        for (var i = 0; i < byTime.Count;)
        {
            var at = byTime[i].At;
            var inOrder = true;
            for (; i < byTime.Count && byTime[i].At == at; i++)
            {
                inOrder &= included.Count == 0 || byTime[i].Index > included.Max;
                included.Add(byTime[i].Index);
                if (inOrder) state = NetworkDecider.Evolve(state, entries[byTime[i].Index].Event);
            }
            if (!inOrder) state = included.Aggregate(NetworkDecider.Initial, (s, index) => NetworkDecider.Evolve(s, entries[index].Event));
            times.Add(at);
            states.Add(state);
        }
        _times = [.. times];
        _byTime = [.. states];
    }


    /// <summary>Network events folded (the stream's length, less any event that could not be read).</summary>
    public int Count => _versions.Length;

    /// <summary>Events skipped because their type, data or metadata could not be read; stream verification reports why.</summary>
    public int Unreadable { get; }

    /// <summary>The network after every event read.</summary>
    public NetworkState Current => _byVersion.Length == 0 ? NetworkDecider.Initial : _byVersion[^1];

    /// <summary>The network folded from every event that occurred at or before <paramref name="at"/>.</summary>
    public NetworkState StateAt(DateTimeOffset at)
    {
        var index = LastAtOrBefore(_times, at);
        return index < 0 ? NetworkDecider.Initial : _byTime[index];
    }

    /// <summary>
    /// Every network that was in force at some moment of [<paramref name="from"/>, <paramref name="to"/>], the one at
    /// <paramref name="to"/> first, then each earlier one, newest first (distinct states; one when nothing changed).
    /// </summary>
    public IEnumerable<NetworkState> StatesDuring(DateTimeOffset from, DateTimeOffset to)
    {
        var index = LastAtOrBefore(_times, to);
        yield return index < 0 ? NetworkDecider.Initial : _byTime[index];
        for (; index >= 0 && _times[index] > from; index--)
            yield return index == 0 ? NetworkDecider.Initial : _byTime[index - 1];
    }

    /// <summary>The network as the events before <paramref name="version"/> left it: what a transaction of the network stream itself was decided and endorsed against.</summary>
    public NetworkState StateBefore(long version)
    {
        var index = LastAtOrBefore(_versions, version - 1);
        return index < 0 ? NetworkDecider.Initial : _byVersion[index];
    }

    public static NetworkHistory From(IEnumerable<EventEnvelope> networkStream, EventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(networkStream);
        ArgumentNullException.ThrowIfNull(serializer);
        var entries = new List<(long, DateTimeOffset, INetworkEvent)>();
        var unreadable = 0;
        foreach (var envelope in networkStream)
        {
            if (Read(envelope, serializer) is { } entry) entries.Add(entry);
            else unreadable++;
        }
        return new NetworkHistory(entries, unreadable);
    }

    public static async Task<NetworkHistory> LoadAsync(IEventStore store, EventSerializer serializer, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var envelopes = new List<EventEnvelope>();
        await foreach (var envelope in store.ReadStreamAsync(NetworkStream.StreamId, 0, ct).ConfigureAwait(false))
            envelopes.Add(envelope);
        return From(envelopes, serializer);
    }

    /// <summary>An altered event may no longer parse; it is left out here and reported by the chain check.</summary>
    private static (long, DateTimeOffset, INetworkEvent)? Read(EventEnvelope envelope, EventSerializer serializer)
    {
        try
        {
            if (!serializer.IsKnown(envelope.Type)) return null;
            return serializer.Deserialize(envelope.Type, envelope.Data) is INetworkEvent e
                ? (envelope.Version, EventMetadata.FromBytes(envelope.Metadata).OccurredAt, e)
                : null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The index of the last element at or before <paramref name="value"/> in a sorted array, or -1.</summary>
    private static int LastAtOrBefore<T>(T[] sorted, T value) where T : IComparable<T>
    {
        int lo = 0, hi = sorted.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (sorted[mid].CompareTo(value) <= 0)
            {
                found = mid;
                lo = mid + 1;
            }
            else hi = mid - 1;
        }
        return found;
    }
}
