using System.Threading.Channels;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Postgres;

public sealed partial class PostgresEventStore
{
    /// <summary>
    /// An append waiting for its group: one transaction, or a chain of consecutive ones of the same stream (a busy stream's
    /// round), which are linked one after the other and land or fail together. Completed only after the group's COMMIT
    /// (or with its own failure).
    /// </summary>
    private sealed record PendingAppend(string StreamId, IReadOnlyList<PendingLink> Links, CancellationToken Ct)
    {
        public TaskCompletionSource<ChainAppendResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ExpectedVersion Expected => Links[0].Expected;

        public IEnumerable<ProposedEvent> Events => Links.SelectMany(l => l.Events);

        public void Fail(Exception e) => Done.TrySetResult(new ChainAppendResult([], e));
    }

    /// <summary>One transaction of a pending append, with its endorsement's stored form.</summary>
    private sealed record PendingLink(ExpectedVersion Expected, IReadOnlyList<ProposedEvent> Events, TransactionEndorsement? Endorsement, byte[]? EndorsementBytes);

    /// <summary>
    /// Group commit: appends of many streams share one transaction, so one WAL flush (fsync) makes a whole group durable.
    /// <para>
    /// One loop forms the groups and keeps up to <see cref="MaxGroupsInFlight"/> of them committing; what queues while
    /// they are all busy is the next group. A lone append therefore goes at once (no timer), and under load the groups
    /// grow by themselves. Each append keeps its own expected version: the stream heads (and already stored ids) are
    /// checked first — from the head cache, or read for the whole group in one round trip — and only the appends that
    /// pass are linked and inserted, all rows in one statement, one implicit transaction. An append that fails its check
    /// fails alone (the executor decides it again); an exact replay is answered from the stored rows. A group takes at
    /// most one append per stream and each id once, and no stream of a group still in flight, so no append depends on
    /// another that has not committed: a stream's later appends wait for a later group, in order. If the insert still
    /// hits a unique constraint (a head cached stale, an id stored before, another node appending meanwhile), the
    /// transaction wrote nothing and the group goes again on heads and ids read from the database (see
    /// <see cref="CommitAsync"/>). A caller's task completes after the COMMIT: acknowledged means durable.
    /// </para>
    /// </summary>
    private sealed class GroupCommitter : IAsyncDisposable
    {
        /// <summary>Bounds one statement's size; a longer queue is simply the next group.</summary>
        private const int MaxAppendsPerGroup = 256;

        /// <summary>
        /// Groups committing at once. One would leave the database idle while a group waits for its flush; a few overlap
        /// one group's insert with another's flush (and PostgreSQL flushes commits that arrive together at once).
        /// </summary>
        private const int MaxGroupsInFlight = 4;

        private readonly PostgresEventStore _store;
        private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _loop;

        public GroupCommitter(PostgresEventStore store)
        {
            _store = store;
            _loop = Task.Run(RunAsync);
        }

        public async Task<ChainAppendResult> AppendAsync(PendingAppend append)
        {
            if (!_queue.Writer.TryWrite(append)) throw new ObjectDisposedException(nameof(PostgresEventStore));
            // A caller that stops waiting learns nothing of the outcome, as with any append cut short mid-flight.
            return await append.Done.Task.WaitAsync(append.Ct);
        }

        private async Task RunAsync()
        {
            var carried = new List<PendingAppend>();
            var inFlight = new List<(Task Commit, HashSet<string> Streams)>();
            while (true)
            {
                inFlight.RemoveAll(f => f.Commit.IsCompleted);
                if (inFlight.Count >= MaxGroupsInFlight)
                {
                    await Task.WhenAny(inFlight.Select(f => f.Commit));
                    continue;
                }
                if (carried.Count == 0 && !await _queue.Reader.WaitToReadAsync()) break;

                var group = new List<PendingAppend>();
                var streams = new HashSet<string>(StringComparer.Ordinal);
                var ids = new HashSet<Guid>();
                var next = new List<PendingAppend>();
                // Carried appends first, then the queue: a stream's appends keep their order.
                foreach (var append in carried) Admit(append);
                while (group.Count < MaxAppendsPerGroup && _queue.Reader.TryRead(out var queued)) Admit(queued);
                carried = next;
                if (group.Count > 0) inFlight.Add((CommitAsync(group), streams));
                else if (carried.Count > 0) await Task.WhenAny(inFlight.Select(f => f.Commit)); // all wait for streams in flight

                void Admit(PendingAppend append)
                {
                    if (append.Ct.IsCancellationRequested) append.Done.TrySetCanceled(append.Ct);
                    else if (group.Count >= MaxAppendsPerGroup || streams.Contains(append.StreamId) || append.Events.Any(e => ids.Contains(e.EventId))
                             || inFlight.Any(f => f.Streams.Contains(append.StreamId))) next.Add(append);
                    else
                    {
                        group.Add(append);
                        streams.Add(append.StreamId);
                        ids.UnionWith(append.Events.Select(e => e.EventId));
                    }
                }
            }
            await Task.WhenAll(inFlight.Select(f => f.Commit));
        }

        /// <summary>Stops taking appends; those already queued are committed first.</summary>
        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await _loop;
        }

        /// <summary>
        /// Commits a group: first on the heads this store knows, then — if the insert hit a unique constraint, so nothing
        /// was written — once more on heads and ids read from the database (which answers a moved stream, a replay and a
        /// foreign id per append), and if even that loses a race with another node, each append alone (a chain's
        /// transactions one after the other, which is also how a chain some of whose ids are stored already is answered).
        /// </summary>
        private async Task CommitAsync(List<PendingAppend> group)
        {
            var pending = await TryCommitAsync(group, trustCache: true);
            if (pending.Count > 0) pending = await TryCommitAsync(pending, trustCache: false);
            await Task.WhenAll(pending.Select(AloneAsync));
        }

        /// <summary>Each transaction of the append in its own database transaction, stopping at the first that fails.</summary>
        private async Task AloneAsync(PendingAppend append)
        {
            var appended = new List<AppendResult>(append.Links.Count);
            try
            {
                foreach (var link in append.Links)
                    appended.Add(await _store.AppendOneAsync(append.StreamId, link.Expected, link.Events, link.Endorsement, link.EndorsementBytes,
                        CancellationToken.None));
                append.Done.TrySetResult(new ChainAppendResult(appended, null));
            }
            catch (Exception e)
            {
                append.Done.TrySetResult(new ChainAppendResult(appended, e));
            }
        }

        /// <summary>One transaction for the group; the appends still to do when its insert hit a unique constraint, or that are answered alone.</summary>
        private async Task<List<PendingAppend>> TryCommitAsync(List<PendingAppend> group, bool trustCache)
        {
            var linked = new List<(PendingAppend Append, IReadOnlyList<IReadOnlyList<EventEnvelope>> Links)>(group.Count);
            var alone = new List<PendingAppend>();
            try
            {
                await using var conn = await _store._dataSource.OpenConnectionAsync();
                var heads = await HeadsAsync(conn, group, trustCache);
                foreach (var append in group)
                {
                    try
                    {
                        var head = heads[append];
                        if (head.Stored.Count > 0 && append.Links.Count > 1) alone.Add(append); // which of its transactions landed: one by one
                        else if (head.Stored.Count > 0)
                            append.Done.TrySetResult(new ChainAppendResult([StreamHeads.Replay(append.StreamId, append.Expected,
                                append.Links[0].Events, head.Stored.ToDictionary(e => e.EventId), head.LastVersion)], null));
                        else if (!append.Expected.IsMetBy(head.LastVersion))
                            throw new WrongExpectedVersionException(append.StreamId, append.Expected, head.LastVersion);
                        else linked.Add((append, Link(append, head)));
                    }
                    catch (Exception e) when (e is WrongExpectedVersionException or DuplicateEventIdException)
                    {
                        append.Fail(e);
                    }
                }
                if (linked.Count == 0) return alone;
                var stored = await InsertGroupAsync(conn, linked);
                for (var i = 0; i < linked.Count; i++)
                    linked[i].Append.Done.TrySetResult(new ChainAppendResult(stored[i].Select(_store.Appended).ToList(), null));
                return alone;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                foreach (var (append, _) in linked) _store._heads.Forget(append.StreamId);
                return [.. linked.Select(l => l.Append), .. alone];
            }
            catch (Exception e)
            {
                // The database failed (or the connection broke, perhaps after COMMIT was sent): every append of the
                // group learns it, as a lone append would; none is acknowledged.
                foreach (var append in group) append.Done.TrySetException(e);
                return [];
            }
        }

        /// <summary>The append's transactions linked after <paramref name="head"/>, each after the one before it, each with its own endorsement.</summary>
        private static List<IReadOnlyList<EventEnvelope>> Link(PendingAppend append, Head head)
        {
            var (version, hash) = (head.LastVersion, head.LastHash ?? HashChain.Genesis);
            var links = new List<IReadOnlyList<EventEnvelope>>(append.Links.Count);
            foreach (var link in append.Links)
            {
                var rows = HashChain.Link(append.StreamId, version, hash, link.Events, link.Endorsement);
                links.Add(rows);
                (version, hash) = (rows[^1].Version, rows[^1].Hash);
            }
            return links;
        }

        /// <summary>
        /// Each append's stream head: with <paramref name="trustCache"/>, from the cache when it meets the expectation (a
        /// stale one fails the insert, see above); else read — all streams' heads and all their proposed ids in one round trip.
        /// </summary>
        private async Task<Dictionary<PendingAppend, Head>> HeadsAsync(NpgsqlConnection conn, List<PendingAppend> group, bool trustCache)
        {
            var heads = new Dictionary<PendingAppend, Head>(ReferenceEqualityComparer.Instance);
            var unknown = new List<PendingAppend>();
            foreach (var append in group)
            {
                var known = !trustCache ? null : append.Expected.IsNoStream ? StreamHead.None : _store._heads.Get(append.StreamId);
                if (known is not null && append.Expected.IsMetBy(known.Version)) heads[append] = new Head(known.Version, known.Hash, []);
                else unknown.Add(append);
            }
            if (unknown.Count == 0) return heads;

            await using var batch = new NpgsqlBatch(conn);
            var last = new NpgsqlBatchCommand($"""
                SELECT s.stream_id, h.version, h.hash FROM unnest($1::text[]) AS s(stream_id)
                CROSS JOIN LATERAL (SELECT version, hash FROM {Table} WHERE stream_id = s.stream_id ORDER BY version DESC LIMIT 1) h
                """);
            last.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = unknown.Select(a => a.StreamId).ToArray() });
            batch.BatchCommands.Add(last);
            var ids = new NpgsqlBatchCommand($"SELECT {Columns} FROM {Table} WHERE event_id = ANY($1)");
            ids.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = unknown.SelectMany(a => a.Events.Select(e => e.EventId)).ToArray() });
            batch.BatchCommands.Add(ids);

            var lastByStream = new Dictionary<string, (long Version, byte[] Hash)>(StringComparer.Ordinal);
            var storedById = new Dictionary<Guid, EventEnvelope>();
            await using (var reader = await batch.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync()) lastByStream[reader.GetString(0)] = (reader.GetInt64(1), reader.GetFieldValue<byte[]>(2));
                await reader.NextResultAsync();
                while (await reader.ReadAsync())
                {
                    var e = ReadEnvelope(reader);
                    storedById[e.EventId] = e;
                }
            }
            foreach (var append in unknown)
            {
                var (version, hash) = lastByStream.TryGetValue(append.StreamId, out var h) ? h : (-1L, null!);
                var stored = append.Events.Where(e => storedById.ContainsKey(e.EventId)).Select(e => storedById[e.EventId]).ToList();
                heads[append] = new Head(version, hash, stored);
            }
            return heads;
        }

        private const string InsertGroupSql = $"""
            INSERT INTO {Table} (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement)
            SELECT e.event_id, e.stream_id, e.version, e.type, e.data, e.metadata, e.prev_hash, e.hash, e.endorsement
            FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[])
                 WITH ORDINALITY AS e(event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement, ord)
            ORDER BY e.ord
            RETURNING stream_id, version, transaction_id, position
            """;

        /// <summary>
        /// Every row of the group in one statement, so one implicit transaction: positions follow the group's order, and
        /// every row shares the transaction id. Returns each append's stored envelopes per transaction, in the group's order.
        /// </summary>
        private static async Task<IReadOnlyList<EventEnvelope>[][]> InsertGroupAsync(
            NpgsqlConnection conn, List<(PendingAppend Append, IReadOnlyList<IReadOnlyList<EventEnvelope>> Links)> linked)
        {
            var rows = linked.SelectMany(l => l.Links.SelectMany((rows, i) => rows.Select(r => (Row: r, l.Append.Links[i].EndorsementBytes)))).ToList();
            await using var cmd = new NpgsqlCommand(InsertGroupSql, conn);
            var p = cmd.Parameters;
            p.Add(new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(r => r.Row.EventId).ToArray() });
            p.Add(new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Row.StreamId).ToArray() });
            p.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Row.Version).ToArray() });
            p.Add(new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Row.Type).ToArray() });
            p.Add(new NpgsqlParameter<byte[][]> { TypedValue = rows.Select(r => r.Row.Data).ToArray() });
            p.Add(new NpgsqlParameter<byte[][]> { TypedValue = rows.Select(r => r.Row.Metadata).ToArray() });
            p.Add(new NpgsqlParameter<byte[][]> { TypedValue = rows.Select(r => r.Row.PrevHash).ToArray() });
            p.Add(new NpgsqlParameter<byte[][]> { TypedValue = rows.Select(r => r.Row.Hash).ToArray() });
            p.Add(new NpgsqlParameter { Value = rows.Select(r => r.EndorsementBytes).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });

            var positions = new Dictionary<(string, long), GlobalPosition>(rows.Count);
            await using (var reader = await cmd.ExecuteReaderAsync())
                while (await reader.ReadAsync())
                    positions[(reader.GetString(0), reader.GetInt64(1))] = new GlobalPosition(reader.GetFieldValue<ulong>(2), (ulong)reader.GetInt64(3));
            return linked.Select(l => l.Links.Select(rows => (IReadOnlyList<EventEnvelope>)rows
                .Select(r => r with { Position = positions[(r.StreamId, r.Version)] }).ToArray()).ToArray()).ToArray();
        }
    }
}
