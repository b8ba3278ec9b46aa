using System.Collections.Concurrent;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

// The one command path every handler takes: CommandExecutor loads and decides through CommandDecider (the same code
// every endorser re-runs), has the transaction endorsed, appends it, and decides again after a lost race.

/// <summary>What every accepted command answers: its events, where they landed, the chain hash and who endorsed it.</summary>
public sealed record Receipt(IReadOnlyList<Guid> EventIds, long StreamVersion, string Hash, IReadOnlyList<string> EndorsedBy);

/// <summary>The outcome of an accepted command: its receipt and the events it decided.</summary>
public sealed record CommandResult<TEvent>(Receipt Receipt, IReadOnlyList<TEvent> Events);

/// <summary>
/// Every command handler's one path: load the stream, decide, endorse, append. On one node the commands of a stream
/// queue for its turn (<see cref="StreamGates"/>), so they do not collide, and the turn's holder takes them together as
/// one round (CommandRounds.cs): decided one after the other, endorsed as one chain, appended in one store call. A
/// writer on another node can still make the append (or the endorsement) fail on expected version, and the command is
/// then decided again against the new state (so an access is always judged by the latest consent), a bounded number
/// of times.
/// <para>
/// A retried command is never recorded twice, on any stream. Its event ids are its command id and their index, and
/// the command id names one request (<c>RequestContext</c>), whose stream is fixed by the request (a registration's new
/// patient id is derived from the command id), so a retry proposes the same ids to the same stream. The store makes
/// an exact replay after the expected version idempotent; what it may not see in one round trip (EventStoreDB) is the
/// ids further back in the stream — a retry decided again after its earlier attempt landed. So a command whose earlier
/// attempt went unanswered (<see cref="CommandContext.EarlierAttempt"/>) looks through the stream, up to the version
/// it was decided at, for its first event before it appends; found, it is the 409 "command-already-applied". An
/// earlier attempt landing after that look lands right after the same version or not at all, so the append then
/// fails on it and the store refuses it as the same ids with other content. First attempts, the normal case, pay
/// nothing for this.
/// </para>
/// </summary>
public sealed partial class CommandExecutor(
    IEventStore store,
    IEndorsementService endorsement,
    StreamStateCache cache,
    CommandDecider decider,
    StreamGates gates,
    CommandTelemetry telemetry,
    ILogger<CommandExecutor> log)
{
    /// <summary>
    /// A command loses a round only to another node's command that landed, so with fewer than this many
    /// nodes writing one stream at once every command lands; beyond that the caller gets a 409.
    /// </summary>
    public const int MaxAttempts = 10;

    public async Task<CommandResult<TEvent>> ExecuteAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
        where TCommand : notnull
    {
        // A command a node issues on its own (a tree head, the founding) gets its span here; a caller's has one already.
        using var run = telemetry.Begin(command.GetType().Name, context);
        try
        {
            var result = await ExecuteAttemptsAsync<TDecider, TState, TCommand, TEvent>(streamId, command, at, context, ct);
            run?.Accepted();
            return result;
        }
        catch (Exception e)
        {
            run?.Failed(e);
            throw;
        }
    }

    private static RejectedException AlreadyApplied() => RejectedException.Conflict("command-already-applied",
        "This command id (Idempotency-Key) was already applied; it is recorded once.");

    /// <summary>Whether the stream holds <paramref name="eventId"/> at or before <paramref name="upToVersion"/> (a read of the stream).</summary>
    private async Task<bool> IsStoredAsync(string streamId, Guid eventId, long upToVersion, CancellationToken ct)
    {
        await foreach (var e in store.ReadStreamAsync(streamId, 0, ct))
        {
            if (e.Version > upToVersion) break;
            if (e.EventId == eventId) return true;
        }
        return false;
    }
}

/// <summary>
/// Decides a command against its stream and turns the events into envelopes. Appends nothing and asks
/// no one: the submitter's executor and every endorser's re-execution both go through it.
/// </summary>
public sealed class CommandDecider(StreamLoader loader, EventSerializer serializer)
{
    /// <summary>
    /// Loads the stream and decides the command: the events, their bytes and their place in the chain. Appends nothing.
    /// With <paramref name="onTopOf"/>, nothing is loaded: the command is decided right after that state, which the caller
    /// itself decided (the previous command of a round, or of a chained batch an endorser re-executes) and which is not
    /// stored yet.
    /// </summary>
    public async Task<Decision<TState, TEvent>> DecideAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct, long? asOfVersion = null,
        StreamSnapshot<TState>? onTopOf = null)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        // The submitter's decision and every endorser's re-execution alike: load and decide.
        using var span = HealthEventsTelemetry.Source.StartActivity("decide");
        span?.SetTag(HealthEventsTelemetry.Tags.StreamKind, HealthEventsTelemetry.StreamKind(streamId));
        var snapshot = onTopOf ?? await loader.LoadAsync<TDecider, TState, TCommand, TEvent>(streamId, ct, asOfVersion);
        var events = TDecider.Decide(command, snapshot.State);
        span?.SetTag(HealthEventsTelemetry.Tags.Events, events.Count);
        var metadata = new EventMetadata(context.Actor.Id, context.Actor.Role, context.Actor.Hospital,
            context.CommandId, context.CorrelationId, at).ToBytes();
        var proposed = events
            .Select((e, i) => new ProposedEvent(DeterministicIds.EventId(context.CommandId, i), serializer.NameOf(e), serializer.Serialize(e), metadata))
            .ToList();
        var envelopes = proposed.Count == 0 ? [] : HashChain.Link(streamId, snapshot.Version, snapshot.LastHash, proposed, endorsement: null);
        var after = events.Aggregate(snapshot.State, TDecider.Evolve);
        var home = after is IHasHomeHospital { HomeHospital: { Length: > 0 } h } ? h : null;
        return new(snapshot.State, snapshot.Version, snapshot.LastHash, events, proposed, envelopes, home, after);
    }
}

/// <summary>
/// A command decided against a stream as it was at <see cref="LastVersion"/>: the domain events, and
/// the envelopes they become — bytes, ids, versions and hashes. The submitter and every endorser build
/// it through the same <see cref="CommandDecider.DecideAsync{TDecider,TState,TCommand,TEvent}"/>, which is what
/// makes "byte-identical on re-execution" a meaningful test.
/// </summary>
public sealed record Decision<TState, TEvent>(
    TState Before, long LastVersion, byte[] LastHash, IReadOnlyList<TEvent> Events,
    IReadOnlyList<ProposedEvent> Proposed, IReadOnlyList<EventEnvelope> Envelopes, string? HomeHospital, TState After)
{
    /// <summary>The stream as it stands once this decision's events are appended (as it was, when there are none).</summary>
    public StreamSnapshot<TState> Next => Envelopes.Count == 0 ? new(Before, LastVersion, LastHash) : new(After, Envelopes[^1].Version, Envelopes[^1].Hash);
}

/// <summary>
/// Folds a stream into its decision state, reading only what the cache has not seen yet. The network stream is read
/// through the <see cref="NetworkDirectory"/>, never raw: its events are folded only as verified there (the pinned
/// founding, then each transaction endorsed under the network before it), so an event appended past the service —
/// unendorsed, or passed off as more of the founding — never changes what the network decides, for the submitter or
/// for an endorser re-executing; a network stream that fails verification is refused (<see cref="DamagedStreamException"/>,
/// or <see cref="GenesisMismatchException"/> when its founding is not the pinned one).
/// <para>
/// Every other stream is folded only as a whole (<see cref="StreamContinuity"/>): from version 0 with the genesis
/// prevHash, no version skipped. A stream whose start is hidden from reads is refused, not decided on from where its
/// reads begin — else a node reading it afresh would find no registration and decide a second one, and endorsers reading
/// the same cut stream would endorse it (a takeover). A cached state cannot see its stream's start disappear later, so a
/// load that uses one reads the stream's first event again alongside the new events (<see cref="IEventStore.ReadFirstAsync"/>,
/// one event, at the same time as the tail read): the cheapest evidence that the start still holds, and one each node —
/// the submitter and every endorser — takes for itself rather than from its cache. The network stream's start is checked
/// by its directory the same way, with its hash.
/// </para>
/// <para>
/// Its end is checked against the ledger (<see cref="LedgeredTail"/>, when this node keeps one: <see cref="ILedgeredHistory"/>):
/// a stream whose latest ledgered event is no longer served was cut past the service, and deciding on what is left would
/// bring back what the cut removed (a revoked consent). The ledger is asked alongside the read; when it has seen more than
/// the read found, the stream is read to its end once more, now after the ledger's answer, so that an event appended
/// meanwhile is never taken for a cut.
/// </para>
/// </summary>
public sealed partial class StreamLoader(
    IEventStore store, EventSerializer serializer, StreamStateCache cache, NetworkDirectory? network = null, ILedgeredHistory? ledger = null,
    ILogger<StreamLoader>? log = null, Endorsement.EndorsementOptions? endorsement = null)
{
    /// <summary>
    /// The stream's state now: the cached snapshot extended by whatever was appended since. With
    /// <paramref name="asOfVersion"/>, a snapshot cached at exactly that version is used as it is: whoever
    /// asks about a stream at a known version (an endorser judging a proposal) needs that state, not a newer
    /// one — if the stream has moved on since, the append at that version fails on its own.
    /// </summary>
    /// <exception cref="DamagedStreamException">An event cannot be read, the stream's start or a version is not served
    /// (<see cref="DamagedStreamException.Hidden"/>), or (network stream) it fails verification.</exception>
    /// <param name="rereadStart">
    /// False: a cached state is taken as it is, without reading the stream's first event again — for reading what this node
    /// already verified (who the patient is), never for deciding or endorsing.
    /// </param>
    /// <exception cref="GenesisMismatchException">The network stream does not start with the pinned founding.</exception>
    public async Task<StreamSnapshot<TState>> LoadAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, CancellationToken ct, long? asOfVersion = null, bool rereadStart = true)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        var cached = cache.TryGet<TState>(streamId);
        // Asked about a version before the one this node cached: the stream moved on since (a stale proposal, answered as
        // such) — or it was cut past the service below what this node folded, and its cache is no true prefix any more.
        if (cached is not null && asOfVersion < cached.Version && await ShorterThanCachedAsync(streamId, cached.Version, ct)) cached = null;
        // A stream this node has not proven yet (first folded here, or only read) is proven under the latest signed tree head.
        var anchor = rereadStart && cached is not { Anchored: true } ? await AnchorForAsync(streamId, ct) : null;
        if (cached is not null && anchor is { Anchor: { } signed } && !signed.Covers(cached)) cached = null;
        var positions = anchor is null ? null : new Dictionary<long, GlobalPosition>();
        var start = cached is null || !rereadStart || IsVerifiedNetwork(streamId) || streamId == LedgerStream.StreamId
            ? Task.CompletedTask : StartHoldsAsync(streamId, ct);
        var leaf = ledger is not null && rereadStart && streamId != LedgerStream.StreamId
            ? ledger.LatestLeafAsync(streamId, ct) : Task.FromResult<LedgeredEvent?>(null);
        // The hash of each event this load folds, by version: the ledger's leaf is compared with the one at its version.
        var seen = new Dictionary<long, byte[]>();
        var fold = cached is not null && cached.Version == asOfVersion
            ? Task.FromResult(cached)
            : FoldAsync<TDecider, TState, TCommand, TEvent>(streamId, cached ?? new StreamSnapshot<TState>(TDecider.Initial, -1, HashChain.Genesis), seen, positions, ct);
        await Task.WhenAll(start, leaf, fold); // all observed; a hidden start is the first failure reported
        var loaded = fold.Result;
        if (!LedgeredTail.Reaches(loaded.Version, LedgeredTail.HashAt(loaded.Version, loaded.LastHash, seen), leaf.Result))
        {
            // The ledger has seen more than this load: read on from here, after the ledger's answer (an event appended while
            // the first read ran, or one a cached state at asOfVersion has not read), and only then call the stream cut.
            loaded = await FoldAsync<TDecider, TState, TCommand, TEvent>(streamId, loaded, seen, positions, ct);
            LedgeredTail.Check(streamId, loaded.Version, LedgeredTail.HashAt(loaded.Version, loaded.LastHash, seen), leaf.Result);
        }
        if (streamId == LedgerStream.StreamId) return await EndorsedLedgerStateAsync<TDecider, TState, TCommand, TEvent>(loaded, ct);
        return anchor is null ? loaded : await ProvenAsync(streamId, anchor, cached, loaded, seen, positions!, ct);
    }

    /// <summary>
    /// The snapshot extended by the events after it (their hashes put in <paramref name="seen"/>). What was folded is
    /// cached however the fold ends — also when it is cancelled or meets a damaged event part-way — since every event
    /// folded so far followed the chain and was read, so it is a true prefix of the stream. This matters for an endorser:
    /// the round cancels the one not needed for the quorum, and on a long stream that one is the one still reading it;
    /// were its progress dropped, it would read the whole stream again for every command, be cut off again, and never
    /// catch up (issue 13, point 4).
    /// </summary>
    private async Task<StreamSnapshot<TState>> FoldAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, StreamSnapshot<TState> snapshot, Dictionary<long, byte[]> seen, Dictionary<long, GlobalPosition>? positions, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        var (state, version, hash, position) = (snapshot.State, snapshot.Version, snapshot.LastHash, snapshot.LastPosition);
        try
        {
            await foreach (var e in ReadAsync(streamId, version + 1, ct))
            {
                if (PassedOver(streamId, e, version, hash))
                {
                    (version, hash, position) = (e.Version, e.Hash, e.Position);
                    continue;
                }
                StreamContinuity.Follows(e, version, hash);
                seen[e.Version] = e.Hash;
                if (positions is not null && e.Position is { } at) positions[e.Version] = at;
                state = TDecider.Evolve(state, Read<TEvent>(e));
                (version, hash, position) = (e.Version, e.Hash, e.Position);
            }
        }
        finally
        {
            if (version != snapshot.Version) cache.Put(streamId, Extended());
        }
        return version == snapshot.Version ? snapshot : Extended();

        StreamSnapshot<TState> Extended() => new(state, version, hash) { LastPosition = position, Anchored = snapshot.Anchored };
    }

    /// <summary>
    /// Whether the stream now ends before <paramref name="cachedVersion"/>, the version this node folded it to: events were
    /// cut off its end past the service (streams never shrink otherwise). What this node folded is the history, so it is
    /// kept and the stream refused as damaged; only the ledger stream's cache is dropped (true: fold it again), since its
    /// events are tree heads and losing a head's record loses no leaf. One read of the stream's last event.
    /// </summary>
    /// <exception cref="DamagedStreamException">The stream, other than the ledger's, was cut below this node's state.</exception>
    public async Task<bool> ShorterThanCachedAsync(string streamId, long cachedVersion, CancellationToken ct)
    {
        var last = (await store.ReadLastAsync(streamId, ct))?.Version ?? -1;
        if (last >= cachedVersion) return false;
        log?.LogWarning("Stream {StreamId} ends at version {Last}, below version {Cached} this node folded: cut past the service",
            streamId, last, cachedVersion);
        if (streamId != LedgerStream.StreamId) throw CutBelowCache(streamId, last, cachedVersion);
        cache.Evict(streamId);
        return true;
    }

    /// <summary>The refusal of a stream that ends at <paramref name="last"/>, below the version <paramref name="known"/> this node folded.</summary>
    public static DamagedStreamException CutBelowCache(string streamId, long last, long known) =>
        new(streamId, last + 1, hidden: true,
            reason: $"ends at version {last}, below version {known} this node folded: versions {last + 1} on are not served (missing-event)");

    /// <summary>A stream this node folded before still starts at version 0 with the genesis prevHash (one event read).</summary>
    private async Task StartHoldsAsync(string streamId, CancellationToken ct) =>
        StreamContinuity.Starts(streamId, await store.ReadFirstAsync(streamId, ct));

    private bool IsVerifiedNetwork(string streamId) => streamId == NetworkStream.StreamId && network is not null;

    private IAsyncEnumerable<EventEnvelope> ReadAsync(string streamId, long fromVersion, CancellationToken ct) =>
        IsVerifiedNetwork(streamId) && network is { } directory
            ? VerifiedNetworkAsync(directory, fromVersion, ct)
            : store.ReadStreamAsync(streamId, fromVersion, ct);

    private static async IAsyncEnumerable<EventEnvelope> VerifiedNetworkAsync(
        NetworkDirectory network, long fromVersion, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var e in await network.ReadVerifiedAsync(fromVersion, ct)) yield return e;
    }

    /// <summary>The stream's event; a stream holding one this build cannot read is damaged (no decision is safe on it).</summary>
    private TEvent Read<TEvent>(EventEnvelope e) where TEvent : IEvent
    {
        try
        {
            return serializer.Deserialize(e.Type, e.Data) is TEvent read ? read : throw new UnreadableEventException(e.Type, "not an event of this stream");
        }
        catch (UnreadableEventException x)
        {
            throw new DamagedStreamException(e.StreamId, e.Version, x);
        }
    }
}

/// <summary>A stream's decision state as of a version, with that version's hash (the next prevHash).</summary>
public sealed record StreamSnapshot<TState>(TState State, long Version, byte[] LastHash)
{
    /// <summary>Where the store holds the version's event (null: not known, or nothing folded).</summary>
    public GlobalPosition? LastPosition { get; init; }

    /// <summary>
    /// Whether this node proved the stream, when it first folded it, under the latest signed tree head then (or found none
    /// to prove it by), or decided it itself on such a state (<see cref="StreamLoader"/>): what it extends need not be proven again.
    /// </summary>
    public bool Anchored { get; init; }
}

/// <summary>
/// Keeps the write-side state of recently used streams, so loading a long stream reads only the
/// events after the cached version. Safe without invalidation: streams are append-only and states
/// immutable, so a cached snapshot is always a true prefix that the next load extends.
/// </summary>
public sealed class StreamStateCache(int capacity = 50_000)
{
    private readonly ConcurrentDictionary<(string, Type), object> _entries = new();

    public StreamSnapshot<TState>? TryGet<TState>(string streamId) =>
        _entries.TryGetValue((streamId, typeof(TState)), out var entry) ? (StreamSnapshot<TState>)entry : null;

    /// <summary>
    /// Drops every state cached for <paramref name="streamId"/>: only for the ledger stream found shorter than a cached state
    /// (<see cref="StreamLoader.ShorterThanCachedAsync"/>), which append-only streams never are unless cut past the service.
    /// </summary>
    public void Evict(string streamId)
    {
        foreach (var key in _entries.Keys)
            if (key.Item1 == streamId) _entries.TryRemove(key, out _);
    }

    public void Put<TState>(string streamId, StreamSnapshot<TState> snapshot)
    {
        // Crude bound: dropping everything is correct (a miss only costs a full read) and needs no LRU bookkeeping.
        if (_entries.Count >= capacity) _entries.Clear();
        _entries.AddOrUpdate((streamId, typeof(TState)), snapshot, (_, existing) => ((StreamSnapshot<TState>)existing) is var kept
            && (kept.Version > snapshot.Version || (kept.Version == snapshot.Version && (kept.Anchored || !snapshot.Anchored))) ? existing : snapshot);
    }
}

public sealed class ConcurrencyConflictException(string streamId, int attempts, Exception inner)
    : Exception($"Stream {streamId} kept changing; gave up after {attempts} attempts.", inner);
