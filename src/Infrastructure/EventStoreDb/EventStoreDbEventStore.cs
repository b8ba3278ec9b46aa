using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
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
    /// Names this store's streams on the server: our stream <c>patient-1</c> is the server's <c>{prefix}patient-1</c>
    /// (event-id claims likewise), and the global log is the streams under the prefix only. Several stores — the
    /// tests' services, say — share one server without seeing each other. Empty (the default): names as they are, and
    /// the global log is every stream HealthEvents wrote. Never starts with '$' (system streams).
    /// </summary>
    public string StreamPrefix { get; init; } = "";
}

/// <summary>
/// The EventStoreDB event store (docs/architecture.md, "The event stores"), speaking the gRPC streams protocol through
/// Grpc.Net.Client. Each of our streams is an EventStoreDB stream; an event's revision is its version; the
/// envelope is mapped by <see cref="EventStoreDbEnvelope"/> (data as is, our metadata, hash link and endorsement
/// in custom metadata, byte-exact).
/// <para>
/// Append: the store is the authority on the hash chain. It takes the stream's head (version, hash) — known for
/// no-stream, cached from this store's own appends and reads, or read as the stream's last event — links the events
/// with <see cref="HashChain.Link"/> and appends them with exactly that expected revision, so a concurrent writer
/// makes it fail rather than break the chain. A wrong expected version becomes <see cref="WrongExpectedVersionException"/>
/// with the server's actual version; with <see cref="ExpectedVersion.Any"/> the store reads the new head and tries
/// again (bounded).
/// </para>
/// <para>
/// Idempotency, as on PostgreSQL: event ids are claimed store-wide first (<see cref="EventIdClaims"/>); when one was
/// claimed before by this stream, the append may be a retry, and the stored events are looked up. An exact replay
/// (same ids in order, same type, data and metadata, right after the expected version, anywhere for Any) returns the
/// stored events and writes nothing; a partial match is a <see cref="WrongExpectedVersionException"/>, other content
/// or an id owned by another stream a <see cref="DuplicateEventIdException"/>.
/// </para>
/// <para>
/// Global log: $all, positions (commit, prepare), skipping system events (stream or type starting with '$'),
/// event-id claims, and events HealthEvents did not write. EventStoreDB commits in log order, so a reader never
/// overtakes a transaction that commits later. An append's result carries, on its last event, the $all position the
/// server's reply names (what read-your-writes waits for); the stream's end read by this store carries it too.
/// </para>
/// <para>
/// With <see cref="EventStoreDbStoreOptions.StreamPrefix"/>, every name on the server (streams, claims) is prefixed
/// and the global log is the prefixed streams only, the prefix stripped: several services share one server apart.
/// </para>
/// </summary>
public sealed class EventStoreDbEventStore : IEventStore, IAsyncDisposable
{
    /// <summary>A truncated (<c>$tb</c>) or soft-deleted stream hides events that <c>$all</c> still serves.</summary>
    public bool StreamsCanHideLoggedEvents => true;

    private const int MaxAnyAttempts = 100;
    private const ulong ReadAllMinBatch = 64;

    private readonly EventStoreDbClient _client;
    private readonly EventStoreDbStoreOptions _options;
    private readonly HeadCache _heads = new();
    private readonly string _prefix;

    public EventStoreDbEventStore(string connectionString, EventStoreDbStoreOptions? options = null)
        : this(EventStoreDbSettings.Parse(connectionString), options)
    {
    }

    public EventStoreDbEventStore(EventStoreDbSettings settings, EventStoreDbStoreOptions? options = null)
        : this(new EventStoreDbClient(settings), options)
    {
    }

    internal EventStoreDbEventStore(EventStoreDbClient client, EventStoreDbStoreOptions? options = null)
    {
        _client = client;
        _options = options ?? new EventStoreDbStoreOptions();
        _prefix = _options.StreamPrefix ?? "";
        if (_prefix.StartsWith('$')) throw new ArgumentException("A stream prefix never starts with '$' (system streams).", nameof(options));
    }

    /// <summary>The server's name of our stream <paramref name="streamId"/>.</summary>
    private string OnServer(string streamId) => _prefix + streamId;

    /// <summary>The node the store talks to now (the leader, once one redirected it).</summary>
    public Uri CurrentNode => _client.Current;

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    // ---------------------------------------------------------------- append

    public async Task<AppendResult> AppendAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null, CancellationToken ct = default)
    {
        Validate(streamId, events);
        var endorsementBytes = EndorsementSerializer.Serialize(endorsement);

        var claimedBefore = await EventIdClaims.ClaimAsync(_client, _prefix, streamId, events.Select(e => e.EventId), ct);
        if (claimedBefore.Count > 0 && await TryReplayAsync(streamId, expected, events, claimedBefore, ct) is { } replay)
            return replay;

        // A head from the cache may be behind: only a head read from the server may fail the expectation.
        var head = expected.IsNoStream ? StreamHead.None : _heads.Get(streamId);
        var fresh = expected.IsNoStream;
        for (var attempt = 1; ; attempt++)
        {
            if (head is null || (!fresh && !expected.IsMetBy(head.Version)))
            {
                head = await ReadHeadAsync(streamId, ct);
                fresh = true;
            }
            if (!expected.IsMetBy(head.Version)) throw new WrongExpectedVersionException(streamId, expected, head.Version);

            var linked = HashChain.Link(streamId, head.Version, head.Hash, events, endorsement);
            var messages = linked.Select(e => EventStoreDbEnvelope.ToProposedMessage(e, endorsementBytes)).ToArray();
            var reply = await _client.AppendAsync(OnServer(streamId), ExpectRevision(head.Version), messages, ct);
            switch (reply.ResultCase)
            {
                case AppendResp.ResultOneofCase.Success:
                    // The reply's position is the last event's place in $all: what read-your-writes waits for.
                    var stored = linked.ToArray();
                    stored[^1] = stored[^1] with { Position = EventStoreDbEnvelope.PositionOf(reply.Success) };
                    _heads.Remember(stored[^1]);
                    return new AppendResult(stored);
                case AppendResp.ResultOneofCase.WrongExpectedVersion:
                    _heads.Forget(streamId);
                    var actual = EventStoreDbErrors.ActualLastVersion(reply.WrongExpectedVersion);
                    // Someone appended first. Not Any: the stream is not where the caller expected, so say where it is.
                    if (!expected.IsAny && actual is { } a && !expected.IsMetBy(a)) throw new WrongExpectedVersionException(streamId, expected, a);
                    if (attempt >= MaxAnyAttempts)
                        throw new InvalidOperationException($"Append to stream {streamId} lost {attempt} races in a row.");
                    head = null;
                    fresh = false;
                    break;
                default:
                    throw new EventStoreDbException($"EventStoreDB answered the append to stream {streamId} with neither success nor a wrong expected version.");
            }
        }
    }

    private static Action<AppendReq.Types.Options> ExpectRevision(long lastVersion) => lastVersion < 0
        ? o => o.NoStream = new Empty()
        : o => o.Revision = (ulong)lastVersion;

    private static void Validate(string streamId, IReadOnlyList<ProposedEvent> events)
    {
        AppendValidation.Validate(streamId, events);
        if (!EventStoreDbEnvelope.IsLogStream(streamId))
            throw new ArgumentException($"Stream {streamId} is reserved (system streams start with '$'; '{EventIdClaims.StreamPrefix}' is the id claims').", nameof(streamId));
        if (events.FirstOrDefault(e => e.Type.StartsWith('$')) is { } reserved)
            throw new ArgumentException($"Event type {reserved.Type} is reserved (starts with '$').", nameof(events));
    }

    /// <summary>
    /// Some ids were claimed by this stream before: finds them in the stream (reading back from its end, stopping
    /// once all are found). None stored: the claims were left by an append that did not land, and this one goes
    /// ahead. Otherwise the stored events if this is an exact replay, else a conflict.
    /// </summary>
    private async Task<AppendResult?> TryReplayAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, HashSet<Guid> claimedBefore, CancellationToken ct)
    {
        var missing = new HashSet<Guid>(claimedBefore);
        var stored = new Dictionary<Guid, EventEnvelope>();
        long lastVersion = -1;
        using (var read = await _client.ReadAsync(
                   EventStoreDbRequests.ReadStream(OnServer(streamId), fromRevision: null, forwards: false, count: long.MaxValue), streamId, ct))
        {
            while (missing.Count > 0 && await read.NextAsync() is { } reply)
            {
                if (reply.ContentCase != ReadResp.ContentOneofCase.Event) continue;
                var e = EventStoreDbEnvelope.Decode(reply.Event, streamId, _prefix);
                if (lastVersion < 0) lastVersion = e.Version;
                if (missing.Remove(e.EventId)) stored[e.EventId] = e;
            }
        }
        return stored.Count == 0 ? null : Replay(streamId, expected, events, stored, lastVersion);
    }

    private static AppendResult Replay(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, Dictionary<Guid, EventEnvelope> byId, long lastVersion)
    {
        if (!byId.TryGetValue(events[0].EventId, out var first))
            throw new WrongExpectedVersionException(streamId, expected, lastVersion); // a later id stored, not the first: partial
        if (!expected.IsAny && first.Version != expected.Value + 1)
            throw new WrongExpectedVersionException(streamId, expected, lastVersion);

        var result = new EventEnvelope[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var p = events[i];
            if (!byId.TryGetValue(p.EventId, out var s) || s.Version != first.Version + i)
                throw new WrongExpectedVersionException(streamId, expected, lastVersion);
            if (s.Type != p.Type || !s.Data.AsSpan().SequenceEqual(p.Data) || !s.Metadata.AsSpan().SequenceEqual(p.Metadata))
                throw new DuplicateEventIdException(p.EventId, "is already stored with different content");
            result[i] = s;
        }
        return new AppendResult(result);
    }

    private async Task<StreamHead> ReadHeadAsync(string streamId, CancellationToken ct) =>
        await ReadLastAsync(streamId, ct) is { } last ? new StreamHead(last.Version, last.Hash) : StreamHead.None;

    // ---------------------------------------------------------------- reads

    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(
        string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), (ulong)Math.Max(0, fromVersion), forwards: true, count: long.MaxValue);
        using var read = await _client.ReadAsync(request, streamId, ct);
        while (await read.NextAsync() is { } reply)
            if (reply.ContentCase == ReadResp.ContentOneofCase.Event)
                yield return EventStoreDbEnvelope.Decode(reply.Event, streamId, _prefix);
    }

    public async Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var request = EventStoreDbRequests.ReadStream(OnServer(streamId), fromRevision: null, forwards: false, count: 1);
        using var read = await _client.ReadAsync(request, streamId, ct);
        while (await read.NextAsync() is { } reply)
        {
            if (reply.ContentCase != ReadResp.ContentOneofCase.Event) continue;
            var last = EventStoreDbEnvelope.Decode(reply.Event, streamId, _prefix);
            // A server that gives stream reads no $all position: this store's own append of that very event knew it.
            if (last.Position is null && _heads.PositionOf(last) is { } known) last = last with { Position = known };
            _heads.Remember(last);
            return last;
        }
        return null;
    }

    /// <summary>
    /// Our events of $all strictly after <paramref name="after"/>. The server reads from a position inclusively,
    /// so the event at it is skipped; so are events not ours, and the read goes on past them until
    /// <paramref name="maxCount"/> events are found or the log ends.
    /// </summary>
    public async Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var result = new List<EventEnvelope>(Math.Min(maxCount, 1024));
        var cursor = after;
        while (true)
        {
            var count = Math.Max((ulong)(maxCount - result.Count) + 1, ReadAllMinBatch);
            ulong raw = 0;
            GlobalPosition? lastRaw = null;
            using (var read = await _client.ReadAsync(EventStoreDbRequests.ReadAll(cursor, count), null, ct))
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

    /// <summary>The position of the last event in $all, any stream (null: an empty log).</summary>
    public async Task<GlobalPosition?> ReadLastPositionAsync(CancellationToken ct = default)
    {
        using var read = await _client.ReadAsync(EventStoreDbRequests.ReadAllLast(), null, ct);
        while (await read.NextAsync() is { } reply)
            if (reply.ContentCase == ReadResp.ContentOneofCase.Event && EventStoreDbEnvelope.PositionOf(reply.Event) is { } p)
                return p;
        return null;
    }

    // ---------------------------------------------------------------- subscription

    /// <summary>
    /// A catch-up subscription on $all: the server sends history from the position, then live events. When the
    /// call drops (the node restarts, the connection breaks, a leader change), it subscribes again from the last
    /// position it saw — the server re-sends from there inclusively, so events at or before it are skipped — after a
    /// delay that doubles per failed attempt (reset by each delivered event). Refusals (access denied) end it with
    /// the error; cancellation with <see cref="OperationCanceledException"/>.
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
                read = await _client.ReadAsync(EventStoreDbRequests.SubscribeAll(last), null, ct);
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
                        if (reply.ContentCase != ReadResp.ContentOneofCase.Event) continue; // confirmation, checkpoint, caught up...
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

    // ---------------------------------------------------------------- head cache

    /// <param name="EventId">The last event's id (Guid.Empty for no stream).</param>
    /// <param name="Position">Its place in $all when known (from the append's reply or a read), else null.</param>
    private sealed record StreamHead(long Version, byte[] Hash, Guid EventId = default, GlobalPosition? Position = null)
    {
        public static readonly StreamHead None = new(-1, HashChain.Genesis);
    }

    /// <summary>
    /// Last known (version, hash) of streams this store appended to or read the end of, so an append needs no read
    /// first. An entry can only be behind, never wrong (committed events never change): the exact expected revision
    /// turns a behind entry into a wrong-expected-version reply, and the store reads the head. Bounded.
    /// </summary>
    private sealed class HeadCache
    {
        private const int Capacity = 100_000;
        private readonly ConcurrentDictionary<string, StreamHead> _heads = new(StringComparer.Ordinal);

        public StreamHead? Get(string streamId) => _heads.TryGetValue(streamId, out var head) ? head : null;

        public void Remember(EventEnvelope e)
        {
            if (_heads.Count >= Capacity) _heads.Clear();
            var head = new StreamHead(e.Version, e.Hash, e.EventId, e.Position);
            _heads.AddOrUpdate(e.StreamId, head, (_, old) =>
                old.Version > head.Version || (old.Version == head.Version && head.Position is null) ? old : head);
        }

        /// <summary>The $all position remembered for exactly this event (same stream, version and id), or null.</summary>
        public GlobalPosition? PositionOf(EventEnvelope e) =>
            Get(e.StreamId) is { } h && h.Version == e.Version && h.EventId == e.EventId ? h.Position : null;

        public void Forget(string streamId) => _heads.TryRemove(streamId, out _);
    }
}
