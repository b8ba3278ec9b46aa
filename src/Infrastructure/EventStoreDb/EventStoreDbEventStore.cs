using System.Runtime.CompilerServices;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.EventStore;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;


namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>Timings of the EventStoreDB adapter.</summary>
public sealed record EventStoreDbStoreOptions
{
    /// <summary>How long a readiness probe waits for the server.</summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>First wait before a dropped subscription reconnects; doubles per failed attempt up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Names this store's streams on the server: our stream <c>patient-1</c> is the server's <c>{prefix}patient-1</c>,
    /// and the global log is the streams under the prefix only (the server filters $all by it). Several stores — the
    /// tests' services, say — share one server without seeing each other. Empty (the default): names as they are, and
    /// the global log is every stream HealthEvents wrote. Never starts with '$' (system streams).
    /// </summary>
    public string StreamPrefix { get; init; } = "";
}

/// <summary>
/// The EventStoreDB event store (docs/architecture.md, "The event stores"), speaking the gRPC streams protocol through
/// Grpc.Net.Client. Each of our streams is an EventStoreDB stream; an event's revision is its version; the
/// envelope is mapped by <see cref="EventStoreDbEnvelope"/> (data as is, our id, metadata, hash link and endorsement
/// in custom metadata, byte-exact; the server's own id for the event is a hash of all that).
/// <para>
/// Append: the store is the authority on the hash chain. It takes the stream's head (version, hash) — known for
/// no-stream, cached from this store's own appends and reads, or read as the stream's last event — links the events
/// with <see cref="HashChain.Link"/> and appends them with exactly that expected revision, so a concurrent writer
/// makes it fail rather than break the chain.
/// </para>
/// <para>
/// One append per transaction, and still no transaction recorded twice. With an exact expected version and the head
/// known, a transaction costs one round trip: the append. A stream's first transaction (no-stream) costs two: its
/// metadata is read first, since the server would store it after a soft-deleted stream's revisions, not at version 0
/// (<see cref="NoHistoryAsync"/>). EventStoreDB's idempotence is per stream —
/// events whose ids already follow the expected revision make the append succeed without writing — and the server ids
/// are hashes of the whole event (<see cref="EventStoreDbEnvelope.ServerId"/>), so that success means byte-identical
/// events are stored at that very place: an exact replay, such as an append sent again after its acknowledgement was
/// lost with its node. When the server answers that the stream is past the expected version (or the cache already
/// knows it is), the store reads the events that follow the expectation: our ids there in order with the same type,
/// data and metadata are a replay, and the stored events are returned (their positions included); the first id
/// there with other content is a <see cref="DuplicateEventIdException"/>; anything else a
/// <see cref="WrongExpectedVersionException"/> with the actual version. <see cref="ExpectedVersion.Any"/> promises
/// idempotence wherever in the stream the ids are, so an append with Any reads the stream first (two round trips;
/// the service never appends with Any).
/// </para>
/// <para>
/// Decision (docs/architecture.md, "The event stores"): event ids are unique per stream here, not store-wide. An id
/// already stored in another stream is not refused, nor one earlier in this stream than the expectation — on
/// PostgreSQL a unique index refuses both. Refusing them would take a claim per event in a stream of its own: a second
/// write per transaction, not atomic with the append. A retried command is still recorded once, because it never
/// proposes its ids anywhere else: its event ids derive from its command id (caller, Idempotency-Key, the key's nonce)
/// and an index, its stream from the request (a registration's patient id from the command id); a replay at the same
/// place is answered from the stream (server ids are content hashes, above); and a retry whose earlier attempt went
/// unanswered looks for its first event before appending (<c>CommandPath</c>, <c>CommandContext.EarlierAttempt</c>).
/// </para>
/// <para>
/// Global log: $all, positions (commit, prepare), read and subscribed with a server-side filter on the stream name
/// (<see cref="EventStoreDbRequests.OurStreams"/>: the prefix, or HealthEvents' stream names). Every event of those
/// streams is in the log, also one appended past HealthEvents (no envelope: read with empty hashes), so verification
/// and projections see what the streams hold, whatever its type (a '$' type such as <c>$&gt;</c> appended by a client
/// included); only the tombstone a hard delete writes is left out (<see cref="EventStoreDbEnvelope.IsTombstone"/>: the
/// server's mark, which the stream reads never serve as an event). EventStoreDB commits in log order, so a reader never overtakes a transaction that
/// commits later. An append's result carries, on its last event, the $all position the server's reply names (what
/// read-your-writes waits for); the stream's end read by this store carries it too.
/// </para>
/// <para>
/// With <see cref="EventStoreDbStoreOptions.StreamPrefix"/>, every name on the server is prefixed and the global log
/// is the prefixed streams only, the prefix stripped: several services share one server apart. A cluster is found and
/// followed by <see cref="EventStoreDbClient"/> (gossip, not-leader answers, rediscovery when a node dies).
/// </para>
/// </summary>
public sealed class EventStoreDbEventStore : IEventStore, IAsyncDisposable
{
    /// <summary>
    /// A truncated (<c>$tb</c>), soft-deleted or hard-deleted (tombstoned) stream hides events that <c>$all</c> still
    /// serves (until a scavenge).
    /// </summary>
    public bool StreamsCanHideLoggedEvents => true;

    private const int MaxAnyAttempts = 100;

    private readonly EventStoreDbClient _client;
    private readonly EventStoreDbStoreOptions _options;
    private readonly StreamHeads _heads = new();
    private readonly string _prefix;
    private readonly ReadReq.Types.Options.Types.FilterOptions _ourStreams;

    public EventStoreDbEventStore(EventStoreDbSettings settings, EventStoreDbStoreOptions? options = null)
    {
        _client = new EventStoreDbClient(settings);
        _options = options ?? new EventStoreDbStoreOptions();
        _prefix = _options.StreamPrefix ?? "";
        if (_prefix.StartsWith('$')) throw new ArgumentException("A stream prefix never starts with '$' (system streams).", nameof(options));
        _ourStreams = EventStoreDbRequests.OurStreams(_prefix);
    }

    /// <summary>The server's name of our stream <paramref name="streamId"/>.</summary>
    private string OnServer(string streamId) => _prefix + streamId;

    /// <summary>The node the store talks to now (the leader, once found).</summary>
    public Uri CurrentNode => _client.Current;

    /// <summary>Server round trips this store has made (appends, reads, gossip; retries included): what the tests count.</summary>
    public long ServerCalls => _client.Calls;

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    // ---------------------------------------------------------------- append

    public async Task<AppendResult> AppendAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null, CancellationToken ct = default)
    {
        Validate(streamId, events);
        var endorsementBytes = endorsement?.ToJson();
        return expected.IsAny
            ? await AppendAnywhereAsync(streamId, events, endorsement, endorsementBytes, ct)
            : await AppendAfterAsync(streamId, expected, events, endorsement, endorsementBytes, ct);
    }

    /// <summary>
    /// The chain as one append (one expected revision, every transaction's events linked one after the other, each with
    /// its own endorsement), when the stream is where its first transaction expects it. A stream already past that (a
    /// replay, or another writer) is answered one transaction at a time, as <see cref="IEventStore"/>'s default does.
    /// </summary>
    public async Task<ChainAppendResult> AppendChainAsync(string streamId, IReadOnlyList<ChainedAppend> transactions, CancellationToken ct = default)
    {
        ChainedAppend.Validate(transactions);
        foreach (var t in transactions) Validate(streamId, t.Events);
        if (transactions.Count == 1) return await ChainedAppend.OneByOneAsync(this, streamId, transactions, ct);

        var expected = transactions[0].Expected;
        var last = expected.Value;
        var head = expected.IsNoStream ? await NoHistoryAsync(streamId, ct) : _heads.Get(streamId);
        if (head is null || head.Version < last) head = await ReadHeadAsync(streamId, ct);
        if (head.Version > last) return await ChainedAppend.OneByOneAsync(this, streamId, transactions, ct);
        if (head.Version < last) return new ChainAppendResult([], new WrongExpectedVersionException(streamId, expected, head.Version));

        var (version, hash) = (last, head.Hash);
        var linked = new List<(IReadOnlyList<EventEnvelope> Rows, byte[]? Endorsement)>(transactions.Count);
        foreach (var t in transactions)
        {
            var rows = HashChain.Link(streamId, version, hash, t.Events, t.Endorsement);
            linked.Add((rows, t.Endorsement?.ToJson()));
            (version, hash) = (rows[^1].Version, rows[^1].Hash);
        }
        var messages = linked.SelectMany(l => Messages(l.Rows, l.Endorsement)).ToArray();
        var reply = await AppendOnServerAsync(streamId, ExpectRevision(last), messages, ct);
        switch (reply.ResultCase)
        {
            case AppendResp.ResultOneofCase.Success:
                Landed(streamId, version, reply.Success);
                // One append, one commit position: every transaction's last event carries it (read-your-writes waits for it).
                return new ChainAppendResult(linked.Select(l => Stored(l.Rows, reply.Success)).ToList(), null);
            case AppendResp.ResultOneofCase.WrongExpectedVersion:
                _heads.Forget(streamId);
                var actual = EventStoreDbErrors.ActualLastVersion(reply.WrongExpectedVersion) ?? (await ReadHeadAsync(streamId, ct)).Version;
                return actual > last
                    ? await ChainedAppend.OneByOneAsync(this, streamId, transactions, ct)
                    : new ChainAppendResult([], new WrongExpectedVersionException(streamId, expected, actual));
            default:
                throw new EventStoreDbException($"EventStoreDB answered the append to stream {streamId} with neither success nor a wrong expected version.");
        }
    }

    /// <summary>No-stream or exactly a version: with the head known, one append (see the class).</summary>
    private async Task<AppendResult> AppendAfterAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement, byte[]? endorsementBytes, CancellationToken ct)
    {
        var last = expected.Value; // -1 for no-stream
        // The cache is never ahead of the stream, only behind: a cached head before the expectation is read again.
        var head = expected.IsNoStream ? await NoHistoryAsync(streamId, ct) : _heads.Get(streamId);
        if (head is null || head.Version < last) head = await ReadHeadAsync(streamId, ct);
        if (head.Version > last) return await AlreadyStoredAsync(streamId, expected, events, head.Version, ct);
        if (head.Version < last) throw new WrongExpectedVersionException(streamId, expected, head.Version);

        var linked = HashChain.Link(streamId, last, head.Hash, events, endorsement);
        var reply = await AppendOnServerAsync(streamId, ExpectRevision(last), Messages(linked, endorsementBytes), ct);
        switch (reply.ResultCase)
        {
            case AppendResp.ResultOneofCase.Success:
                Landed(streamId, linked[^1].Version, reply.Success);
                return Stored(linked, reply.Success);
            case AppendResp.ResultOneofCase.WrongExpectedVersion:
                _heads.Forget(streamId);
                var actual = EventStoreDbErrors.ActualLastVersion(reply.WrongExpectedVersion) ?? (await ReadHeadAsync(streamId, ct)).Version;
                if (actual > last) return await AlreadyStoredAsync(streamId, expected, events, actual, ct);
                throw new WrongExpectedVersionException(streamId, expected, actual);
            default:
                throw new EventStoreDbException($"EventStoreDB answered the append to stream {streamId} with neither success nor a wrong expected version.");
        }
    }

    /// <summary>
    /// The stream is past the expectation (at <paramref name="actual"/>): the events right after it are read. Ours
    /// there, in order and with the same content, are a replay (the stored events are returned); anything else is a
    /// conflict.
    /// </summary>
    private async Task<AppendResult> AlreadyStoredAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, long actual, CancellationToken ct)
    {
        var stored = new Dictionary<Guid, EventEnvelope>();
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), (ulong)(expected.Value + 1), forwards: true, count: (ulong)events.Count);
        await foreach (var e in ReadEventsAsync(request, streamId, ct)) stored.TryAdd(e.EventId, e);
        return StreamHeads.Replay(streamId, expected, events, stored, actual);
    }

    /// <summary>
    /// Any: the stream is read first (the ids may be anywhere in it); none of ours there, the events are appended
    /// after the head the read found, again after each lost race (bounded).
    /// </summary>
    private async Task<AppendResult> AppendAnywhereAsync(
        string streamId, IReadOnlyList<ProposedEvent> events, TransactionEndorsement? endorsement, byte[]? endorsementBytes, CancellationToken ct)
    {
        var ids = events.Select(e => e.EventId).ToHashSet();
        for (var attempt = 1; ; attempt++)
        {
            var stored = new Dictionary<Guid, EventEnvelope>();
            var head = StreamHead.None;
            var backwards = EventStoreDbRequests.ReadStream(OnServer(streamId), fromRevision: null, forwards: false, count: long.MaxValue);
            await foreach (var e in ReadEventsAsync(backwards, streamId, ct))
            {
                if (head.Version < 0) head = new StreamHead(e.Version, e.Hash);
                if (ids.Contains(e.EventId)) stored.TryAdd(e.EventId, e);
            }
            if (stored.Count > 0) return StreamHeads.Replay(streamId, ExpectedVersion.Any, events, stored, head.Version);
            if (head.Version < 0) await NoHistoryAsync(streamId, ct);

            var linked = HashChain.Link(streamId, head.Version, head.Hash, events, endorsement);
            var appended = await AppendOnServerAsync(streamId, ExpectRevision(head.Version), Messages(linked, endorsementBytes), ct);
            if (appended.ResultCase == AppendResp.ResultOneofCase.Success)
            {
                Landed(streamId, linked[^1].Version, appended.Success);
                return Stored(linked, appended.Success);
            }
            if (appended.ResultCase != AppendResp.ResultOneofCase.WrongExpectedVersion)
                throw new EventStoreDbException($"EventStoreDB answered the append to stream {streamId} with neither success nor a wrong expected version.");
            _heads.Forget(streamId);
            if (attempt >= MaxAnyAttempts) throw new InvalidOperationException($"Append to stream {streamId} lost {attempt} races in a row.");
        }
    }

    private static AppendReq.Types.ProposedMessage[] Messages(IReadOnlyList<EventEnvelope> linked, byte[]? endorsementBytes) =>
        linked.Select(e => EventStoreDbEnvelope.ToProposedMessage(e, endorsementBytes)).ToArray();

    /// <summary>The append landed: the linked events, the last carrying the reply's position (what read-your-writes waits for).</summary>
    private AppendResult Stored(IReadOnlyList<EventEnvelope> linked, AppendResp.Types.Success success)
    {
        var stored = linked.ToArray();
        stored[^1] = stored[^1] with { Position = EventStoreDbEnvelope.PositionOf(success) };
        _heads.Remember(stored[^1]);
        return new AppendResult(stored);
    }

    /// <summary>
    /// The head of a stream about to be created with no-stream, once the server's metadata of it says it has no hidden
    /// history. EventStoreDB takes a no-stream append to a soft-deleted stream (<c>$tb</c> at its largest) as recreating it,
    /// and stores the events after the deleted revisions — not at version 0, where they were linked: a broken chain written
    /// by the store itself, under a receipt naming the wrong version. No expected revision makes the server refuse that (it
    /// accepts no-stream, any, and the deleted stream's last revision alike), so the stream's metadata is read first: one
    /// small read per stream created (a registration), none for every later append. A <c>$tb</c> set on a stream that reads
    /// as empty hides its history from version 0 on: the port's damaged stream, nothing appended.
    /// </summary>
    /// <exception cref="DamagedStreamException">The stream's metadata truncates it (soft-deleted, or <c>$tb</c> past 0).</exception>
    private async Task<StreamHead> NoHistoryAsync(string streamId, CancellationToken ct)
    {
        var request = EventStoreDbRequests.ReadStream(EventStoreDbStreamMetadata.StreamOf(OnServer(streamId)), fromRevision: null, forwards: false, count: 1);
        ReadCall started;
        try
        {
            started = await _client.ReadAsync(request, streamId, ct);
        }
        catch (EventStoreDbStreamDeletedException)
        {
            return StreamHead.None; // deleted for good: the append itself is refused as such
        }
        using var read = started;
        while (await read.NextAsync() is { } reply)
            if (reply.ContentCase == ReadResp.ContentOneofCase.Event && reply.Event.Event is { } metadata
                && EventStoreDbStreamMetadata.TruncateBefore(metadata.Data.Span) is > 0 and var before)
                throw new DamagedStreamException(streamId, 0, hidden: true, reason: before == long.MaxValue
                    ? "is soft-deleted in EventStoreDB: it serves none of its events from version 0 on, and an append would land after them, not at version 0"
                    : $"is truncated in EventStoreDB before revision {before} ($tb): it serves none of its events from version 0 on");
        return StreamHead.None;
    }

    /// <summary>
    /// The append landed where its events were linked: the server's revision for the last one is its version. If not (the
    /// stream was soft-deleted between <see cref="NoHistoryAsync"/> and the append), the events are stored with links that
    /// do not hold where they are, and no receipt may name a version they did not land at: the stream is damaged.
    /// </summary>
    private void Landed(string streamId, long lastLinked, AppendResp.Types.Success success)
    {
        if (success.CurrentRevisionOptionCase != AppendResp.Types.Success.CurrentRevisionOptionOneofCase.CurrentRevision
            || success.CurrentRevision == (ulong)lastLinked) return;
        _heads.Forget(streamId);
        throw new DamagedStreamException(streamId, 0, hidden: true,
            reason: $"took an append linked up to version {lastLinked} at revision {success.CurrentRevision}: its history before was hidden (soft-deleted)");
    }

    private static Action<AppendReq.Types.Options> ExpectRevision(long lastVersion) => lastVersion < 0
        ? o => o.NoStream = new Empty()
        : o => o.Revision = (ulong)lastVersion;

    private static void Validate(string streamId, IReadOnlyList<ProposedEvent> events)
    {
        AppendValidation.Validate(streamId, events);
        if (!EventStoreDbEnvelope.IsLogStream(streamId))
            throw new ArgumentException($"Stream {streamId} is reserved (system streams start with '$').", nameof(streamId));
        if (events.FirstOrDefault(e => e.Type.StartsWith('$')) is { } reserved)
            throw new ArgumentException($"Event type {reserved.Type} is reserved (starts with '$').", nameof(events));
    }

    private async Task<StreamHead> ReadHeadAsync(string streamId, CancellationToken ct) =>
        await ReadLastAsync(streamId, ct) is { } last ? new StreamHead(last.Version, last.Hash) : StreamHead.None;

    // ---------------------------------------------------------------- reads

    /// <summary>
    /// One append on the server. A stream deleted for good (a tombstone) takes no more events, ever: that is the port's
    /// damaged stream (<see cref="DamagedStreamException"/>, 409 <c>damaged-stream</c>), cut from version 0 on.
    /// </summary>
    private async Task<AppendResp> AppendOnServerAsync(
        string streamId, Action<AppendReq.Types.Options> expect, AppendReq.Types.ProposedMessage[] messages, CancellationToken ct)
    {
        try
        {
            return await _client.AppendAsync(OnServer(streamId), expect, messages, ct, streamId);
        }
        catch (EventStoreDbStreamDeletedException e)
        {
            throw Deleted(streamId, e);
        }
    }

    private static DamagedStreamException Deleted(string streamId, EventStoreDbStreamDeletedException e) =>
        new(streamId, 0, e, "is deleted for good in EventStoreDB (a tombstone): it serves none of its events from version 0 on and takes no more");

    /// <summary>
    /// The events a read of one stream serves, decoded. A stream deleted for good (a tombstone) serves none, as a
    /// soft-deleted one does: the server refuses the read, while <c>$all</c> still holds the events until a scavenge —
    /// the port's hidden stream (<see cref="StreamsCanHideLoggedEvents"/>), which every reader already reports
    /// (<c>stream-truncated</c> at version 0), rather than an error each caller would have to know.
    /// </summary>
    private async IAsyncEnumerable<EventEnvelope> ReadEventsAsync(ReadReq request, string streamId, [EnumeratorCancellation] CancellationToken ct)
    {
        ReadCall read;
        try
        {
            read = await _client.ReadAsync(request, streamId, ct);
        }
        catch (EventStoreDbStreamDeletedException)
        {
            yield break;
        }
        using (read)
        {
            while (true)
            {
                ReadResp? reply;
                try
                {
                    reply = await read.NextAsync();
                }
                catch (EventStoreDbStreamDeletedException)
                {
                    reply = null; // deleted while being read: what follows is not served
                }
                if (reply is null) yield break;
                if (reply.ContentCase == ReadResp.ContentOneofCase.Event) yield return EventStoreDbEnvelope.Decode(reply.Event, streamId, _prefix);
            }
        }
    }


    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(
        string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), (ulong)Math.Max(0, fromVersion), forwards: true, count: long.MaxValue);
        await foreach (var e in ReadEventsAsync(request, streamId, ct))
        {
            _heads.Remember(e); // a read to the end leaves the head known: the command path's next append needs no read
            yield return e;
        }
    }

    /// <summary>One event read forwards from version 0: the server starts at the stream's truncate-before (<c>$tb</c>), if any.</summary>
    public async Task<EventEnvelope?> ReadFirstAsync(string streamId, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), 0, forwards: true, count: 1);
        await foreach (var e in ReadEventsAsync(request, streamId, ct)) return e;
        return null;
    }

    public async Task<EventEnvelope?> ReadNextAsync(string streamId, long fromVersion, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), (ulong)Math.Max(0, fromVersion), forwards: true, count: 1);
        await foreach (var e in ReadEventsAsync(request, streamId, ct)) return e;
        return null;
    }

    public async Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), fromRevision: null, forwards: false, count: 1);
        await foreach (var read in ReadEventsAsync(request, streamId, ct))
        {
            var last = read;
            // A server that gives stream reads no $all position: this store's own append of that very event knew it.
            if (last.Position is null && _heads.PositionOf(last) is { } known) last = last with { Position = known };
            _heads.Remember(last);
            return last;
        }
        return null;
    }

    /// <summary>
    /// Our events of $all strictly after <paramref name="after"/>, through the server-side filter. The server reads
    /// from a position inclusively, so the event at it is skipped; so is a hard delete's tombstone, and the read goes on
    /// past it until <paramref name="maxCount"/> events are found or the log ends.
    /// </summary>
    public async Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var result = new List<EventEnvelope>(Math.Min(maxCount, 1024));
        var cursor = after;
        while (true)
        {
            var count = (ulong)(maxCount - result.Count) + 1;
            ulong raw = 0;
            GlobalPosition? lastRaw = null;
            using (var read = await _client.ReadAsync(EventStoreDbRequests.ReadAll(cursor, count, _ourStreams), null, ct))
            {
                while (await read.NextAsync() is { } reply)
                {
                    if (reply.ContentCase != ReadResp.ContentOneofCase.Event) continue;
                    raw++;
                    if (EventStoreDbEnvelope.PositionOf(reply.Event) is not { } position) continue;
                    lastRaw = position;
                    if (cursor is { } c && position <= c) continue;
                    if (EventStoreDbEnvelope.TryDecode(reply.Event, _prefix) is not { } e) continue;
                    result.Add(e);
                    if (result.Count == maxCount) return result;
                }
            }
            if (raw < count || lastRaw is null || (cursor is { } at && lastRaw <= at)) return result; // the end of the log
            cursor = lastRaw;
        }
    }

    // ---------------------------------------------------------------- subscription

    /// <summary>
    /// A catch-up subscription on $all through the server-side filter: the server sends our streams' history from the
    /// position, then live events, and checkpoints — how far it has looked, filtered-out events included — which
    /// move the resume position on too. When the call drops (the node restarts, the connection breaks, a leader
    /// change), the client finds the leader again and the subscription resumes from the last position it saw — the
    /// server re-sends from there inclusively, so events at or before it are skipped — after a delay that doubles per
    /// failed attempt (reset by each delivered event). Every node of a cluster holds the same log at the same
    /// positions, so a subscription resumed on the new leader neither skips nor repeats. Refusals (access denied) end
    /// it with the error; cancellation with <see cref="OperationCanceledException"/>.
    /// </summary>
    public async IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(
        GlobalPosition? after, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var last = after;
        var delay = _options.ReconnectDelay;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            ReadCall? read = null;
            try
            {
                read = await _client.ReadAsync(EventStoreDbRequests.SubscribeAll(last, _ourStreams), null, ct, subscription: true);
            }
            catch (EventStoreDbException unreachable) when (IsTransient(unreachable))
            {
                // not reachable now: wait and try again below
            }
            if (read is not null)
            {
                using (read)
                {
                    while (true)
                    {
                        ReadResp? reply;
                        try
                        {
                            reply = await read.NextAsync();
                        }
                        catch (EventStoreDbException dropped) when (IsTransient(dropped))
                        {
                            break; // dropped: resume from the last position seen
                        }
                        if (reply is null) break; // the server ended it: subscribe again
                        if (reply.ContentCase == ReadResp.ContentOneofCase.Checkpoint)
                        {
                            var checkpoint = new GlobalPosition(reply.Checkpoint.CommitPosition, reply.Checkpoint.PreparePosition);
                            if (last is null || checkpoint > last) last = checkpoint;
                            continue;
                        }
                        if (reply.ContentCase != ReadResp.ContentOneofCase.Event) continue; // confirmation, caught up...
                        if (EventStoreDbEnvelope.PositionOf(reply.Event) is not { } position) continue;
                        if (last is { } l && position <= l) continue;
                        last = position;
                        if (EventStoreDbEnvelope.TryDecode(reply.Event, _prefix) is not { } envelope) continue;
                        delay = _options.ReconnectDelay;
                        yield return envelope;
                    }
                }
            }
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
        }
    }

    private static bool IsTransient(EventStoreDbException e) =>
        e is EventStoreDbUnavailableException or EventStoreDbNotLeaderException
        || (e.InnerException is Grpc.Core.RpcException rpc && EventStoreDbErrors.IsTransient(rpc));

    // ---------------------------------------------------------------- health

    /// <summary>Ready when the server answers a read of the last event of $all within <see cref="EventStoreDbStoreOptions.HealthTimeout"/>.</summary>
    public async Task<bool> IsHealthyAsync(CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.HealthTimeout);
        try
        {
            using var read = await _client.ReadAsync(
                EventStoreDbRequests.ReadAllLast(), null, timeout.Token, DateTime.UtcNow + _options.HealthTimeout);
            while (await read.NextAsync() is not null) { }
            return true;
        }
        catch (EventStoreDbException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// The cluster as gossip reports it (members with their state, the leader), asked of the current node and else
    /// of the connection string's hosts, within <see cref="EventStoreDbStoreOptions.HealthTimeout"/>; null when no
    /// node answers. A single node reports itself.
    /// </summary>
    public async Task<EventStoreDbCluster?> ReadClusterAsync(CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.HealthTimeout);
        try
        {
            return await _client.ReadClusterAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode is Grpc.Core.StatusCode.Cancelled or Grpc.Core.StatusCode.DeadlineExceeded
                                               && !ct.IsCancellationRequested)
        {
            // The health timeout cancelled the gossip call: gRPC reports that as an RpcException, not a cancellation
            // (seen as a 500 from /health/ready on a starved machine). No node answered in time.
            return null;
        }
    }
}
