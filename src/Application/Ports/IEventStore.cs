using System.Text.Json;

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

    /// <summary>
    /// Appends consecutive transactions of one stream in one call (a busy stream's round of commands): the first at its
    /// expected version, each next one right after the one before it (<see cref="ChainedAppend.Validate"/>), each linked
    /// with its own endorsement and answered with its own result. Stops at the first transaction that does not land and
    /// answers why in <see cref="ChainAppendResult.Stopped"/> (a <see cref="WrongExpectedVersionException"/> when the
    /// stream moved); the ones after it are not appended. Adapters that can make the whole chain one write do (PostgreSQL:
    /// one group commit; EventStoreDB: one append); this default appends them one after the other.
    /// </summary>
    /// <exception cref="ArgumentException">The transactions do not follow each other.</exception>
    Task<ChainAppendResult> AppendChainAsync(string streamId, IReadOnlyList<ChainedAppend> transactions, CancellationToken ct = default) =>
        ChainedAppend.OneByOneAsync(this, streamId, transactions, ct);

    /// <summary>Events of one stream in version order, from <paramref name="fromVersion"/>. Empty when the stream does not exist.</summary>
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 0, CancellationToken ct = default);

    /// <summary>The last event of a stream, or null.</summary>
    Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default);

    /// <summary>
    /// The first event a read of the stream serves, or null when it serves none: version 0, unless the stream's start is
    /// hidden (<see cref="StreamsCanHideLoggedEvents"/>: then a later version, or null). One small read, for a reader that
    /// must know the stream still starts where it did without reading it again.
    /// </summary>
    async Task<EventEnvelope?> ReadFirstAsync(string streamId, CancellationToken ct = default)
    {
        await foreach (var e in ReadStreamAsync(streamId, 0, ct)) return e;
        return null;
    }

    /// <summary>
    /// The first event a read of the stream serves at or after <paramref name="fromVersion"/> (that version, unless it is
    /// not served), or null when it serves none from there. One small read, for a reader that looks up single events of a
    /// long stream (the ledger's tree heads) without reading on.
    /// </summary>
    async Task<EventEnvelope?> ReadNextAsync(string streamId, long fromVersion, CancellationToken ct = default)
    {
        await foreach (var e in ReadStreamAsync(streamId, fromVersion, ct)) return e;
        return null;
    }

    /// <summary>
    /// Up to <paramref name="maxCount"/> events of the global log strictly after <paramref name="after"/>
    /// (null: from the start), in the one order every reader sees. Never skips an event that a
    /// transaction still in flight will commit later.
    /// </summary>
    Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default);

    /// <summary>
    /// Whether events already committed after <paramref name="after"/> are held back from <see cref="ReadAllAsync"/> behind
    /// an older transaction still in flight (PostgreSQL: any writing transaction older than them), so that a reader that
    /// met the log's apparent end has not yet read all that was stored before it looked. False where the log never holds
    /// back (EventStoreDB: its order is the commit order).
    /// </summary>
    Task<bool> HoldsBackAsync(GlobalPosition? after, CancellationToken ct = default) => Task.FromResult(false);

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

/// <summary>One transaction of a chain appended in one call (<see cref="IEventStore.AppendChainAsync"/>).</summary>
public sealed record ChainedAppend(ExpectedVersion Expected, IReadOnlyList<ProposedEvent> Events, TransactionEndorsement? Endorsement)
{
    /// <summary>
    /// Checks that each transaction expects the stream right after the one before it (the first may expect any place; a
    /// chain of more than one cannot start at <see cref="ExpectedVersion.Any"/>, whose place is known only once appended).
    /// </summary>
    /// <exception cref="ArgumentException">An empty chain, or one whose transactions do not follow each other.</exception>
    public static void Validate(IReadOnlyList<ChainedAppend> chain)
    {
        if (chain is not { Count: > 0 }) throw new ArgumentException("A chain holds at least one transaction.", nameof(chain));
        if (chain.Count > 1 && chain[0].Expected.IsAny)
            throw new ArgumentException("A chain of several transactions starts at a known version.", nameof(chain));
        for (var i = 1; i < chain.Count; i++)
            if (chain[i].Expected != ExpectedVersion.Exactly(chain[i - 1].LastVersion))
                throw new ArgumentException($"Transaction {i} of the chain does not expect the version its predecessor ends at.", nameof(chain));
    }

    /// <summary>The chain appended one transaction after the other, each its own append (the port's default).</summary>
    public static async Task<ChainAppendResult> OneByOneAsync(IEventStore store, string streamId, IReadOnlyList<ChainedAppend> chain, CancellationToken ct)
    {
        Validate(chain);
        var appended = new List<AppendResult>(chain.Count);
        foreach (var t in chain)
        {
            try
            {
                appended.Add(await store.AppendAsync(streamId, t.Expected, t.Events, t.Endorsement, ct));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new ChainAppendResult(appended, e);
            }
        }
        return new ChainAppendResult(appended, null);
    }

    /// <summary>The version this transaction's last event lands at (for a known expectation).</summary>
    public long LastVersion => (Expected.IsNoStream ? -1 : Expected.Value) + Events.Count;
}

/// <summary>What a chain append did: the transactions that landed, in order, and why the next one did not (null: all landed).</summary>
public sealed record ChainAppendResult(IReadOnlyList<AppendResult> Appended, Exception? Stopped);

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

/// <summary>An event as the caller proposes it: the bytes are produced once and never re-serialised.</summary>
public sealed record ProposedEvent(Guid EventId, string Type, byte[] Data, byte[] Metadata);

/// <summary>
/// An event as stored: its place in the stream, the hash chain link, and the endorsement of the
/// transaction it belongs to. <see cref="Position"/> is set when read from the global log.
/// </summary>
public sealed record EventEnvelope(
    Guid EventId,
    string StreamId,
    long Version,
    string Type,
    byte[] Data,
    byte[] Metadata,
    byte[] PrevHash,
    byte[] Hash,
    TransactionEndorsement? Endorsement,
    GlobalPosition? Position = null);

/// <summary>
/// Endorsement of one transaction (the events one command appended to one stream), carried by each
/// of its events. Signatures cover <see cref="SignedRoot"/>: the transaction hash itself (a batch of one,
/// empty path) or the RFC 9162 Merkle root of a batch of transaction hashes, with this transaction's
/// leaf index, batch size and inclusion path.
/// </summary>
public sealed record TransactionEndorsement(
    long FirstVersion,
    int EventCount,
    byte[] SignedRoot,
    long LeafIndex,
    long BatchSize,
    IReadOnlyList<byte[]> InclusionPath,
    IReadOnlyList<EndorsementSignature> Signatures)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The endorsement's stored and served form, the same in every store and on the envelopes route: UTF-8 JSON with
    /// web naming (camelCase), byte arrays as base64. PostgreSQL keeps it in <c>he_events.endorsement</c>, EventStoreDB in
    /// each event's custom metadata; it is outside the hash chain, protected by its own signatures.
    /// </summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s form; throws <see cref="JsonException"/> or <see cref="InvalidDataException"/> when it is not one.</summary>
    public static TransactionEndorsement FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<TransactionEndorsement>(json, Json) ?? throw new InvalidDataException("A stored endorsement is null.");

    /// <summary>
    /// What a store reads back from the endorsement bytes it holds: <see cref="FromJson"/>'s form, or null when the bytes
    /// are not one (or lack a part), since anyone with write access can put anything there. The event then reads as
    /// unendorsed, which every verifier names at its version; a read never fails on it (no 500 for the patient's own
    /// routes).
    /// </summary>
    public static TransactionEndorsement? FromStored(ReadOnlySpan<byte> json)
    {
        try
        {
            var e = FromJson(json);
            return e is { SignedRoot: not null, InclusionPath: not null, Signatures: not null }
                   && e.InclusionPath.All(n => n is not null)
                   && e.Signatures.All(s => s is { HospitalId: not null, KeyId: not null, Signature: not null })
                ? e : null;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>ECDSA P-256 / SHA-256 signature in IEEE P1363 (r||s) form.</summary>
public sealed record EndorsementSignature(string HospitalId, string KeyId, byte[] Signature);

/// <summary>
/// A position in the global log, a pair like EventStoreDB's (commit, prepare). On PostgreSQL it is
/// (transaction id, row position): ordering by the committing transaction first is what lets a
/// reader never skip a transaction that commits late.
/// </summary>
public readonly record struct GlobalPosition(ulong Commit, ulong Prepare) : IComparable<GlobalPosition>
{
    public static readonly GlobalPosition Start = new(0, 0);

    public int CompareTo(GlobalPosition other) =>
        Commit != other.Commit ? Commit.CompareTo(other.Commit) : Prepare.CompareTo(other.Prepare);

    public static bool operator <(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) < 0;
    public static bool operator >(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) > 0;
    public static bool operator <=(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) <= 0;
    public static bool operator >=(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) >= 0;

    public override string ToString() => $"{Commit}/{Prepare}";
}

/// <summary>What the appender believes about the stream: no stream yet, an exact last version, or anything.</summary>
public readonly record struct ExpectedVersion
{
    private const long NoStreamValue = -1;
    private const long AnyValue = -2;

    private ExpectedVersion(long value) => Value = value;

    public long Value { get; }

    public static readonly ExpectedVersion NoStream = new(NoStreamValue);
    public static readonly ExpectedVersion Any = new(AnyValue);

    /// <summary>The stream's last version is exactly <paramref name="lastVersion"/> (a stream of n events: n-1).</summary>
    public static ExpectedVersion Exactly(long lastVersion) =>
        lastVersion >= 0 ? new(lastVersion) : throw new ArgumentOutOfRangeException(nameof(lastVersion));

    /// <summary>The expectation matching a stream whose last version is <paramref name="lastVersion"/> (-1: none).</summary>
    public static ExpectedVersion After(long lastVersion) => lastVersion < 0 ? NoStream : Exactly(lastVersion);

    public bool IsAny => Value == AnyValue;
    public bool IsNoStream => Value == NoStreamValue;

    public bool IsMetBy(long actualLastVersion) => IsAny || Value == actualLastVersion;

    public override string ToString() => IsAny ? "any" : IsNoStream ? "no-stream" : Value.ToString();
}

/// <summary>What every adapter refuses before touching its store: the port's contract for a well-formed append.</summary>
public static class AppendValidation
{
    public static void Validate(string streamId, IReadOnlyList<ProposedEvent> events)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) throw new ArgumentException("An append needs at least one event.", nameof(events));
        var ids = new HashSet<Guid>();
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e);
            if (e.Data is null || e.Metadata is null || string.IsNullOrEmpty(e.Type))
                throw new ArgumentException($"Event {e.EventId} lacks a type, data or metadata.", nameof(events));
            if (!ids.Add(e.EventId)) throw new ArgumentException($"Event id {e.EventId} appears twice in one append.", nameof(events));
        }
    }
}
