using System.Runtime.CompilerServices;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// The PostgreSQL event store (docs/architecture.md, "The event stores"): one row per event in <c>he_events</c>.
/// <para>
/// Append: <see cref="HashChain.Link"/> assigns versions and hashes after the stream's head, and one INSERT of
/// all rows commits in a short (implicit) transaction — shared by the concurrent appends of other streams
/// (group commit, <see cref="GroupCommitter"/>: one WAL flush per group), or its own. The head is read first (one round trip, together with
/// a lookup of the proposed event ids) unless it is known: a new stream, or the head this store last wrote or read,
/// cached — a stale cache only costs a conflict and the read. The primary key on (stream_id, version) decides
/// races: the loser gets <see cref="WrongExpectedVersionException"/> with the actual version, or, with
/// <see cref="ExpectedVersion.Any"/>, is re-linked on the new head and retried. Subscribers are woken by a NOTIFY
/// sent right after the commit, not inside it (see <see cref="InsertAsync"/>).
/// </para>
/// <para>
/// Idempotency: when the first proposed event id is already stored in this stream, the append is a replay.
/// It succeeds, returning the stored envelopes and writing nothing, only if the stored events from that
/// version on carry exactly the proposed ids, in order, with the same type, data and metadata bytes, and
/// (unless the expectation is Any) they sit right after the expected version — so a retried command is
/// idempotent even after later events were appended. Endorsements are not compared (ECDSA signatures of a
/// re-endorsed retry differ). A partial match throws <see cref="WrongExpectedVersionException"/>; an id stored
/// in another stream, or with different content, throws <see cref="DuplicateEventIdException"/>.
/// </para>
/// <para>
/// Global order: (transaction_id, position). A read only returns rows of transactions below the oldest
/// transaction still in flight (<c>pg_snapshot_xmin</c>), so a transaction that started earlier but commits
/// later is never overtaken and skipped by a reader.
/// </para>
/// </summary>
public sealed partial class PostgresEventStore : IEventStore, IAsyncDisposable
{
    public const string NotificationChannel = "he_events";
    private const string NotifySql = $"SELECT pg_notify('{NotificationChannel}', '')";

    private const int StreamPageSize = 512;
    private const int SubscriptionBatchSize = 512;
    private const int MaxAnyAttempts = 100;

    private const string Columns =
        "transaction_id, position, event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _idlePollInterval;
    private readonly Notifier _notifier;
    private readonly StreamHeads _heads = new();
    private readonly GroupCommitter? _groups;

    /// <param name="dataSource">Shared data source; not disposed by the store.</param>
    /// <param name="pollInterval">How soon a live subscription re-reads when its last read saw committed events held
    /// back behind an older transaction still in flight (default 250 ms): that transaction need not be an append, so
    /// its end may come with no notification.</param>
    /// <param name="groupCommit">Concurrent appends share one transaction (<see cref="GroupCommitter"/>; default). Off:
    /// each append commits in its own transaction (the benchmark's baseline).</param>
    /// <param name="idlePollInterval">How often a live subscription with nothing held back re-reads without a
    /// notification (default 10 s): only a notification lost on the way (a node that died between its commit and its
    /// NOTIFY, rows written past the store) waits this long.</param>
    public PostgresEventStore(NpgsqlDataSource dataSource, TimeSpan? pollInterval = null, bool groupCommit = true, TimeSpan? idlePollInterval = null)
    {
        _dataSource = dataSource;
        _pollInterval = pollInterval ?? TimeSpan.FromMilliseconds(250);
        _idlePollInterval = idlePollInterval ?? TimeSpan.FromSeconds(10);
        _notifier = new Notifier(dataSource);
        if (groupCommit) _groups = new GroupCommitter(this);
    }

    /// <summary>Builds and owns a data source (auto-preparing the append statements unless configured otherwise).</summary>
    public PostgresEventStore(string connectionString, TimeSpan? pollInterval = null, bool groupCommit = true, TimeSpan? idlePollInterval = null)
        : this(CreateDataSource(connectionString), pollInterval, groupCommit, idlePollInterval) => _ownsDataSource = true;

    internal NpgsqlDataSource DataSource => _dataSource;

    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 32;
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        if (_groups is not null) await _groups.DisposeAsync();
        await _notifier.DisposeAsync();
        if (_ownsDataSource) await _dataSource.DisposeAsync();
    }

    // ---------------------------------------------------------------- append

    public async Task<AppendResult> AppendAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null, CancellationToken ct = default)
    {
        AppendValidation.Validate(streamId, events);
        var endorsementBytes = endorsement?.ToJson();
        if (_groups is null) return await AppendOneAsync(streamId, expected, events, endorsement, endorsementBytes, ct);
        var chain = await _groups.AppendAsync(new PendingAppend(streamId, [new PendingLink(expected, events, endorsement, endorsementBytes)], ct));
        if (chain.Stopped is { } stopped) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(stopped);
        return chain.Appended[0];
    }

    /// <summary>
    /// With group commit, the whole chain is one append of its group (one transaction, one WAL flush); without, the
    /// transactions are appended one after the other.
    /// </summary>
    public async Task<ChainAppendResult> AppendChainAsync(string streamId, IReadOnlyList<ChainedAppend> transactions, CancellationToken ct = default)
    {
        ChainedAppend.Validate(transactions);
        foreach (var t in transactions) AppendValidation.Validate(streamId, t.Events);
        if (_groups is null) return await ChainedAppend.OneByOneAsync(this, streamId, transactions, ct);
        var links = transactions.Select(t => new PendingLink(t.Expected, t.Events, t.Endorsement, t.Endorsement?.ToJson())).ToList();
        return await _groups.AppendAsync(new PendingAppend(streamId, links, ct));
    }

    /// <summary>One append in its own transaction: without group commit, and for a group whose insert lost a race.</summary>
    private async Task<AppendResult> AppendOneAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement, byte[]? endorsementBytes, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);

        // Fast path, one round trip: the head is known (a new stream, or cached from this store's own writes and
        // reads). A stale head cannot do harm: the insert at a taken version, or of an already stored id, fails on
        // a unique constraint, and the full path below decides.
        var known = expected.IsNoStream ? StreamHead.None : _heads.Get(streamId);
        if (known is not null && expected.IsMetBy(known.Version))
        {
            var linked = HashChain.Link(streamId, known.Version, known.Hash, events, endorsement);
            try
            {
                return Appended(await InsertAsync(conn, null, linked, endorsementBytes, notifyInTransaction: false, ct));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                _heads.Forget(streamId);
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var head = await ReadHeadAsync(conn, null, streamId, events, ct);
            if (head.Stored.Count > 0) return StreamHeads.Replay(streamId, expected, events, head.Stored.ToDictionary(e => e.EventId), head.LastVersion);
            if (!expected.IsMetBy(head.LastVersion)) throw new WrongExpectedVersionException(streamId, expected, head.LastVersion);

            var linked = HashChain.Link(streamId, head.LastVersion, head.LastHash ?? HashChain.Genesis, events, endorsement);
            try
            {
                return Appended(await InsertAsync(conn, null, linked, endorsementBytes, notifyInTransaction: false, ct));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Someone appended at this version, or stored one of these ids, in the meantime. The next
                // round reads the new head: a concurrent identical append becomes a replay, a moved stream
                // fails the expectation (the actual version is then current), and Any re-links and retries.
                if (attempt >= MaxAnyAttempts)
                    throw new InvalidOperationException($"Append to stream {streamId} lost {attempt} races in a row.", e);
            }
        }
    }

    /// <summary>Committed: remember the head, wake subscribers (after the commit, outside the append's transaction).</summary>
    private AppendResult Appended(IReadOnlyList<EventEnvelope> stored)
    {
        _heads.Remember(stored[^1]);
        _notifier.Request();
        return new AppendResult(stored);
    }

    /// <summary>
    /// Appends inside a transaction the caller owns (no retry: a conflict aborts that transaction). For
    /// tests that hold a transaction open to commit late; production appends use the short transaction.
    /// </summary>
    internal async Task<AppendResult> AppendAsync(
        NpgsqlTransaction transaction, string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null, CancellationToken ct = default)
    {
        AppendValidation.Validate(streamId, events);
        var conn = transaction.Connection ?? throw new InvalidOperationException("The transaction is completed.");
        var head = await ReadHeadAsync(conn, transaction, streamId, events, ct);
        if (head.Stored.Count > 0) return StreamHeads.Replay(streamId, expected, events, head.Stored.ToDictionary(e => e.EventId), head.LastVersion);
        if (!expected.IsMetBy(head.LastVersion)) throw new WrongExpectedVersionException(streamId, expected, head.LastVersion);
        var linked = HashChain.Link(streamId, head.LastVersion, head.LastHash ?? HashChain.Genesis, events, endorsement);
        return new AppendResult(await InsertAsync(conn, transaction, linked, endorsement?.ToJson(), notifyInTransaction: true, ct));
    }

    private sealed record Head(long LastVersion, byte[]? LastHash, IReadOnlyList<EventEnvelope> Stored);

    /// <summary>One round trip: the stream's last (version, hash), and any proposed id already stored anywhere.</summary>
    private static async Task<Head> ReadHeadAsync(
        NpgsqlConnection conn, NpgsqlTransaction? tx, string streamId, IReadOnlyList<ProposedEvent> events, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(conn, tx);
        var last = new NpgsqlBatchCommand($"SELECT version, hash FROM {Table} WHERE stream_id = $1 ORDER BY version DESC LIMIT 1");
        last.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        batch.BatchCommands.Add(last);
        var ids = new NpgsqlBatchCommand($"SELECT {Columns} FROM {Table} WHERE event_id = ANY($1)");
        ids.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = events.Select(e => e.EventId).ToArray() });
        batch.BatchCommands.Add(ids);

        await using var reader = await batch.ExecuteReaderAsync(ct);
        long lastVersion = -1;
        byte[]? lastHash = null;
        if (await reader.ReadAsync(ct))
        {
            lastVersion = reader.GetInt64(0);
            lastHash = reader.GetFieldValue<byte[]>(1);
        }
        await reader.NextResultAsync(ct);
        var stored = new List<EventEnvelope>();
        while (await reader.ReadAsync(ct)) stored.Add(ReadEnvelope(reader));
        return new Head(lastVersion, lastHash, stored);
    }

    private const string InsertSql = $"""
        INSERT INTO {Table} (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement)
        SELECT e.event_id, $1, e.version, e.type, e.data, e.metadata, e.prev_hash, e.hash, $2
        FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[])
             WITH ORDINALITY AS e(event_id, version, type, data, metadata, prev_hash, hash, ord)
        ORDER BY e.ord
        RETURNING version, transaction_id, position
        """;

    /// <summary>
    /// One round trip: all rows in one statement (its own implicit transaction, or the caller's). The notification
    /// goes in the transaction only for a caller's transaction: a NOTIFY in the append's own transaction would take
    /// PostgreSQL's cluster-wide notify lock through the commit flush and serialise every append (no group commit).
    /// </summary>
    private static async Task<IReadOnlyList<EventEnvelope>> InsertAsync(
        NpgsqlConnection conn, NpgsqlTransaction? tx, IReadOnlyList<EventEnvelope> linked, byte[]? endorsementBytes,
        bool notifyInTransaction, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(conn, tx);
        var insert = new NpgsqlBatchCommand(InsertSql);
        var p = insert.Parameters;
        p.Add(new NpgsqlParameter<string> { TypedValue = linked[0].StreamId });
        p.Add(new NpgsqlParameter { Value = (object?)endorsementBytes ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = linked.Select(e => e.EventId).ToArray() });
        p.Add(new NpgsqlParameter<long[]> { TypedValue = linked.Select(e => e.Version).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = linked.Select(e => e.Type).ToArray() });
        p.Add(new NpgsqlParameter<byte[][]> { TypedValue = linked.Select(e => e.Data).ToArray() });
        p.Add(new NpgsqlParameter<byte[][]> { TypedValue = linked.Select(e => e.Metadata).ToArray() });
        p.Add(new NpgsqlParameter<byte[][]> { TypedValue = linked.Select(e => e.PrevHash).ToArray() });
        p.Add(new NpgsqlParameter<byte[][]> { TypedValue = linked.Select(e => e.Hash).ToArray() });
        batch.BatchCommands.Add(insert);
        if (notifyInTransaction) batch.BatchCommands.Add(new NpgsqlBatchCommand(NotifySql));

        var positions = new Dictionary<long, GlobalPosition>(linked.Count);
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                positions[reader.GetInt64(0)] = new GlobalPosition(reader.GetFieldValue<ulong>(1), (ulong)reader.GetInt64(2));
            while (await reader.NextResultAsync(ct)) { }
        }
        return linked.Select(e => e with { Position = positions[e.Version] }).ToArray();
    }

    // ---------------------------------------------------------------- reads

    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(
        string streamId, long fromVersion = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var next = Math.Max(0, fromVersion);
        while (true)
        {
            // Paged, so a slow consumer never holds a connection (or a snapshot) open.
            var page = new List<EventEnvelope>(StreamPageSize);
            await using (var cmd = _dataSource.CreateCommand(
                $"SELECT {Columns} FROM {Table} WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3"))
            {
                cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = next });
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = StreamPageSize });
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) page.Add(ReadEnvelope(reader));
            }
            if (page.Count < StreamPageSize && page.Count > 0) _heads.Remember(page[^1]); // the committed head, as read
            foreach (var e in page) yield return e;
            if (page.Count < StreamPageSize) yield break;
            next = page[^1].Version + 1;
        }
    }

    public async Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default)
    {
        var last = await ReadOneAsync(streamId, "DESC", ct);
        if (last is not null) _heads.Remember(last);
        return last;
    }

    public Task<EventEnvelope?> ReadFirstAsync(string streamId, CancellationToken ct = default) => ReadOneAsync(streamId, "ASC", ct);

    public async Task<EventEnvelope?> ReadNextAsync(string streamId, long fromVersion, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        await using var cmd = _dataSource.CreateCommand($"SELECT {Columns} FROM {Table} WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT 1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Math.Max(0, fromVersion) });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadEnvelope(reader) : null;
    }

    /// <summary>The stream's event with the lowest (<c>ASC</c>) or highest (<c>DESC</c>) version, or null.</summary>
    private async Task<EventEnvelope?> ReadOneAsync(string streamId, string order, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        await using var cmd = _dataSource.CreateCommand(
            $"SELECT {Columns} FROM {Table} WHERE stream_id = $1 ORDER BY version {order} LIMIT 1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadEnvelope(reader) : null;
    }

    /// <summary>
    /// Rows strictly after <paramref name="after"/> in (transaction_id, position) order, only from transactions
    /// older than the oldest one still running: every such transaction has ended, so no row can later appear
    /// before the last one returned.
    /// </summary>
    private const string ReadAllSql = $"""
        SELECT {Columns} FROM {Table}
        WHERE (transaction_id, position) > ($1, $2)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position
        LIMIT $3
        """;

    public async Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var from = after ?? GlobalPosition.Start;
        if (from.Prepare > long.MaxValue) throw new ArgumentOutOfRangeException(nameof(after));
        await using var cmd = _dataSource.CreateCommand(ReadAllSql);
        cmd.Parameters.Add(new NpgsqlParameter<ulong> { TypedValue = from.Commit, NpgsqlDbType = NpgsqlDbType.Xid8 });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)from.Prepare });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxCount });
        var result = new List<EventEnvelope>(Math.Min(maxCount, 1024));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(ReadEnvelope(reader));
        return result;
    }

    /// <summary>
    /// Like <see cref="ReadAllSql"/>, but also the rows past the released ones, each saying whether it is released
    /// (its transaction is older than the oldest in flight, in the statement's one snapshot). In global order the
    /// released rows are a prefix; a row after them is committed but held back.
    /// </summary>
    private const string ReadReleasedSql = $"""
        SELECT {Columns}, transaction_id < s.xmin
        FROM {Table}, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) s
        WHERE (transaction_id, position) > ($1, $2)
        ORDER BY transaction_id, position
        LIMIT $3
        """;

    public async Task<bool> HoldsBackAsync(GlobalPosition? after, CancellationToken ct = default) =>
        (await ReadReleasedAsync(after, 1, ct)).HeldBack;

    /// <summary>What <see cref="ReadAllAsync"/> returns, and whether committed events after them are held back.</summary>
    private async Task<(List<EventEnvelope> Released, bool HeldBack)> ReadReleasedAsync(GlobalPosition? after, int maxCount, CancellationToken ct)
    {
        var from = after ?? GlobalPosition.Start;
        await using var cmd = _dataSource.CreateCommand(ReadReleasedSql);
        cmd.Parameters.Add(new NpgsqlParameter<ulong> { TypedValue = from.Commit, NpgsqlDbType = NpgsqlDbType.Xid8 });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)from.Prepare });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxCount });
        var result = new List<EventEnvelope>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!reader.GetBoolean(11)) return (result, true);
            result.Add(ReadEnvelope(reader));
        }
        return (result, false);
    }

    private static EventEnvelope ReadEnvelope(NpgsqlDataReader r) => new(
        EventId: r.GetGuid(2),
        StreamId: r.GetString(3),
        Version: r.GetInt64(4),
        Type: r.GetString(5),
        Data: r.GetFieldValue<byte[]>(6),
        Metadata: r.GetFieldValue<byte[]>(7),
        PrevHash: r.GetFieldValue<byte[]>(8),
        Hash: r.GetFieldValue<byte[]>(9),
        Endorsement: r.IsDBNull(10) ? null : TransactionEndorsement.FromStored(r.GetFieldValue<byte[]>(10)),
        Position: new GlobalPosition(r.GetFieldValue<ulong>(0), (ulong)r.GetInt64(1)));

    // ---------------------------------------------------------------- subscription

    public async IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(
        GlobalPosition? after, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var wake = new SemaphoreSlim(0);
        // Listen before the first read, so nothing committed after that read goes unnoticed.
        var listener = await Listener.StartAsync(_dataSource, wake, ct);
        try
        {
            var position = after;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var (batch, heldBack) = await ReadReleasedAsync(position, SubscriptionBatchSize, ct);
                foreach (var e in batch)
                {
                    yield return e;
                    position = e.Position;
                }
                if (batch.Count == SubscriptionBatchSize) continue; // still catching up
                listener.ThrowIfFailed();
                // A notification wakes us at once: every append notifies after its commit, and we listened before
                // this read. Only events held back behind an older transaction in flight become readable when that
                // transaction ends, which may send nothing (it need not be an append): then look again soon.
                await wake.WaitAsync(heldBack ? _pollInterval : _idlePollInterval, ct);
            }
        }
        finally
        {
            await listener.DisposeAsync();
        }
    }

    /// <summary>A dedicated connection that LISTENs and releases the semaphore on each notification.</summary>
    private sealed class Listener : IAsyncDisposable
    {
        private readonly NpgsqlConnection _conn;
        private readonly CancellationTokenSource _stop;
        private readonly Task _loop;

        private Listener(NpgsqlConnection conn, CancellationTokenSource stop, Task loop)
        {
            _conn = conn;
            _stop = stop;
            _loop = loop;
        }

        public static async Task<Listener> StartAsync(NpgsqlDataSource dataSource, SemaphoreSlim wake, CancellationToken ct)
        {
            var conn = await dataSource.OpenConnectionAsync(ct);
            try
            {
                conn.Notification += (_, _) =>
                {
                    if (wake.CurrentCount == 0) wake.Release(); // coalesce: one pending wake-up is enough
                };
                await using (var cmd = new NpgsqlCommand($"LISTEN {NotificationChannel}", conn))
                    await cmd.ExecuteNonQueryAsync(ct);
            }
            catch
            {
                await conn.DisposeAsync();
                throw;
            }
            var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested) await conn.WaitAsync(stop.Token);
            }, CancellationToken.None);
            return new Listener(conn, stop, loop);
        }

        public void ThrowIfFailed()
        {
            if (_loop.IsFaulted && !_stop.IsCancellationRequested)
                throw new InvalidOperationException("The event store notification connection failed.", _loop.Exception?.InnerException);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is OperationCanceledException or NpgsqlException or InvalidOperationException)
            {
                // stopping: cancellation (or a connection already gone) is the expected way out
            }
            try
            {
                if (_conn.FullState == System.Data.ConnectionState.Open)
                {
                    await using var cmd = new NpgsqlCommand($"UNLISTEN {NotificationChannel}", _conn);
                    await cmd.ExecuteNonQueryAsync(CancellationToken.None);
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // best effort: a broken connection is not returned to the pool anyway
            }
            await _conn.DisposeAsync();
            _stop.Dispose();
        }
    }

    // ---------------------------------------------------------------- health

    public async Task<bool> IsHealthyAsync(CancellationToken ct = default)
    {
        try
        {
            await using var cmd = _dataSource.CreateCommand("SELECT 1");
            return await cmd.ExecuteScalarAsync(ct) is 1;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
