using System.Collections.Concurrent;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.EventStore;

/// <summary>A stream's last event as a store knows it: version and hash (the next event's prevHash), id and, when known, its global position.</summary>
internal sealed record StreamHead(long Version, byte[] Hash, Guid EventId = default, GlobalPosition? Position = null)
{
    /// <summary>No stream yet: the next event is version 0 and links to the genesis hash.</summary>
    public static readonly StreamHead None = new(-1, HashChain.Genesis);
}

/// <summary>
/// What both event stores know of their streams' ends, and how they answer an append that is already stored.
/// <para>
/// The cache: the last known head of streams a store appended to or read the end of, so an append whose expectation
/// matches needs no read first. Only committed events go in, and a committed event never changes, so an entry can only
/// be behind, never wrong: the store's own conflict check (PostgreSQL's primary key, EventStoreDB's expected revision)
/// turns a behind entry into a conflict, and the store reads the head. Bounded: cleared past <see cref="Capacity"/> entries.
/// </para>
/// </summary>
internal sealed class StreamHeads
{
    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, StreamHead> _heads = new(StringComparer.Ordinal);

    public StreamHead? Get(string streamId) => _heads.TryGetValue(streamId, out var head) ? head : null;

    /// <summary>Keeps the later of the known and the given head; at the same version, the one that knows its position.</summary>
    public void Remember(EventEnvelope committed)
    {
        if (_heads.Count >= Capacity) _heads.Clear();
        var head = new StreamHead(committed.Version, committed.Hash, committed.EventId, committed.Position);
        _heads.AddOrUpdate(committed.StreamId, head, (_, old) =>
            old.Version > head.Version || (old.Version == head.Version && head.Position is null) ? old : head);
    }

    /// <summary>The global position remembered for exactly this event (same stream, version and id), or null.</summary>
    public GlobalPosition? PositionOf(EventEnvelope e) =>
        Get(e.StreamId) is { } h && h.Version == e.Version && h.EventId == e.EventId ? h.Position : null;

    public void Forget(string streamId) => _heads.TryRemove(streamId, out _);

    /// <summary>
    /// An append some of whose ids are already stored (<paramref name="stored"/>, by id): the stored events when it is an
    /// exact replay — the proposed ids, in order, with the same type, data and metadata bytes, from right after the
    /// expected version (anywhere for Any) — so a retried command is idempotent even after later appends. Endorsements
    /// are not compared (ECDSA signatures of a re-endorsed retry differ). Otherwise
    /// <see cref="DuplicateEventIdException"/> for an id stored in another stream or with other content, and
    /// <see cref="WrongExpectedVersionException"/> (at <paramref name="lastVersion"/>) for a partial match.
    /// </summary>
    public static AppendResult Replay(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, IReadOnlyDictionary<Guid, EventEnvelope> stored, long lastVersion)
    {
        if (stored.Values.FirstOrDefault(e => e.StreamId != streamId) is { } elsewhere)
            throw new DuplicateEventIdException(elsewhere.EventId, "is already stored in another stream");
        if (!stored.TryGetValue(events[0].EventId, out var first))
            throw new WrongExpectedVersionException(streamId, expected, lastVersion); // a later id stored, not the first: partial
        if (!expected.IsAny && first.Version != expected.Value + 1)
            throw new WrongExpectedVersionException(streamId, expected, lastVersion);

        var result = new EventEnvelope[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var p = events[i];
            if (!stored.TryGetValue(p.EventId, out var s) || s.Version != first.Version + i)
                throw new WrongExpectedVersionException(streamId, expected, lastVersion);
            if (s.Type != p.Type || !s.Data.AsSpan().SequenceEqual(p.Data) || !s.Metadata.AsSpan().SequenceEqual(p.Metadata))
                throw new DuplicateEventIdException(p.EventId, "is already stored with different content");
            result[i] = s;
        }
        return new AppendResult(result);
    }
}
