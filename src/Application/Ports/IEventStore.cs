namespace HealthEvents.Application.Ports;

/// <summary>
/// The event store port. Adapters (PostgreSQL, EventStoreDB) pass one conformance suite.
/// The store is the authority on the hash chain: it assigns versions, links each event to the
/// previous one and computes its hash with <see cref="Ledger.HashChain"/> inside the append,
/// so no adapter can ever write a broken link.
/// </summary>
public interface IEventStore
{
    /// <summary>
    /// Whether a stream read can serve less than the global log holds of that stream (EventStoreDB: a stream truncated
    /// with <c>$tb</c> or soft-deleted still shows in <c>$all</c>). False where both are one table (PostgreSQL).
    /// </summary>
    bool StreamsCanHideLoggedEvents => false;

    /// <summary>
    /// Appends atomically. Throws <see cref="WrongExpectedVersionException"/> when the stream is not
    /// where <paramref name="expected"/> says. Appending events whose ids are already stored in this
    /// stream at expected+1 (anywhere, for Any), with the same bytes, is idempotent: the stored events
    /// are returned, nothing is duplicated. The same ids elsewhere or with other bytes are refused.
    /// </summary>
    Task<AppendResult> AppendAsync(
        string streamId,
        ExpectedVersion expected,
        IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null,
        CancellationToken ct = default);

    /// <summary>Events of one stream in version order, from <paramref name="fromVersion"/>. Empty when the stream does not exist.</summary>
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 0, CancellationToken ct = default);

    /// <summary>The last event of a stream, or null.</summary>
    Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default);

    /// <summary>
    /// Up to <paramref name="maxCount"/> events of the global log strictly after <paramref name="after"/>
    /// (null: from the start), in the one order every reader sees. Never skips an event that a
    /// transaction still in flight will commit later.
    /// </summary>
    Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default);

    /// <summary>Catch-up then live subscription to the global log, strictly after <paramref name="after"/>.</summary>
    IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(GlobalPosition? after, CancellationToken ct = default);

    /// <summary>Whether the store answers (readiness).</summary>
    Task<bool> IsHealthyAsync(CancellationToken ct = default);
}

/// <summary>The events as stored (versions, hashes), in order.</summary>
public sealed record AppendResult(IReadOnlyList<EventEnvelope> Events)
{
    public long LastVersion => Events[^1].Version;
    public byte[] TransactionHash => Events[^1].Hash;
}

public sealed class WrongExpectedVersionException(string streamId, ExpectedVersion expected, long actualLastVersion)
    : Exception($"Stream {streamId} was expected at {expected} but is at {(actualLastVersion < 0 ? "no-stream" : actualLastVersion)}.")
{
    public string StreamId { get; } = streamId;
    public ExpectedVersion Expected { get; } = expected;
    public long ActualLastVersion { get; } = actualLastVersion;
}

/// <summary>
/// An appended event id is already stored elsewhere in the store (another stream, another version, or with
/// different bytes): the append is not a replay of the stored events, and nothing was written.
/// </summary>
public sealed class DuplicateEventIdException(Guid eventId, string reason)
    : InvalidOperationException($"Event {eventId} {reason}.")
{
    public Guid EventId { get; } = eventId;
}
