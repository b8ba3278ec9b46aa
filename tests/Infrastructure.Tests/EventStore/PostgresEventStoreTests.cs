using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>What only the PostgreSQL store has, beyond the conformance suite (PostgresConformance.cs): transactions, nodes sharing a database, its schema.</summary>
[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresEventStoreTests() : EventStoreConformance(new PostgresUnderTest())
{
    [Fact]
    public async Task ReadAll_holds_back_later_transactions_until_an_earlier_one_commits()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        var before = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));
        var follower = (await ReadAllEventuallyAsync(store, 1)).Single().Position;

        await using var conn = await store.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var early = await store.AppendAsync(tx, NewStreamId(), ExpectedVersion.NoStream, NewEvents(2));
        var late = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));
        Assert.True(early.Events[0].Position < late.Events[0].Position); // ordered by transaction id, yet committed after

        // A reader that got 'late' now would move past 'early' and never see it: 'late' must wait, and the store says so.
        Assert.Empty(await store.ReadAllAsync(follower, 100));
        Assert.True(await store.HoldsBackAsync(follower));
        await tx.CommitAsync();

        var all = await ReadAllEventuallyAsync(store, 4);
        Assert.Equal(
            before.Events.Concat(early.Events).Concat(late.Events).Select(e => e.EventId),
            all.Select(e => e.EventId));
    }

    [Fact]
    public async Task Verify_waits_for_what_an_older_transaction_in_flight_holds_back_and_says_when_it_gave_up()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await using var tx = await OlderTransactionAsync(store);
        var late = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        // Still in flight past the wait: the pass ends without 'late', and says it was held back.
        var seen = new HashSet<Guid>();
        var gaveUp = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions
        {
            HeldBackWait = TimeSpan.FromMilliseconds(200), Observe = e => seen.Add(e.EventId),
        });
        Assert.True(gaveUp.HeldBack);
        Assert.DoesNotContain(late.Events[0].EventId, seen);

        // Ended while the pass waits: it reads on, and 'late' is verified.
        seen.Clear();
        var verifying = StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { HeldBackWait = Patience, Observe = e => seen.Add(e.EventId) });
        await Task.Delay(100);
        await tx.CommitAsync();
        var report = await verifying;
        Assert.Contains(late.Events[0].EventId, seen);
        Assert.True(report.Verified);
    }

    /// <summary>
    /// A store writer stamps a row it wrote past the service with a transaction id no transaction will reach (xid8, far
    /// ahead of the server's counter): the global log holds it back for good, behind nothing that will ever end, while its
    /// stream's reads serve it (so nodes fold it). Every verify pass then waits, gives up and calls the store verified —
    /// <c>verify</c> exits 0 with a "run verify again" line that no later run changes (today: Verified) — and the ledger,
    /// which reads the same global log, never takes it in either. A row no pass can read must not leave the store verified.
    /// </summary>
    [Fact]
    public async Task Verify_does_not_call_a_store_verified_while_a_row_is_held_back_for_good()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));
        var stream = NewStreamId();
        var forged = (await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1))).Events[0].EventId;
        await using (var conn = await store.DataSource.OpenConnectionAsync())
        await using (var forge = new NpgsqlCommand(
            "UPDATE he_events SET transaction_id = '9000000000000000000'::xid8, hash = decode(repeat('ab', 32), 'hex') WHERE event_id = $1", conn))
        {
            forge.Parameters.Add(new() { Value = forged });
            Assert.Equal(1, await forge.ExecuteNonQueryAsync());
        }
        Assert.Contains(forged, (await store.ReadStreamAsync(stream).ToListAsync()).Select(e => e.EventId));

        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { HeldBackWait = TimeSpan.FromMilliseconds(200) });

        Assert.True(report.HeldBack);
        Assert.False(report.Verified, "the pass could not read a row its stream serves (held back for good), yet called the store verified");
    }

    /// <summary>
    /// The race a pass can lose at the log's apparent end: its read finds nothing (an event held back behind an older
    /// transaction), and that transaction ends before the pass asks what is held back — the answer is "nothing", yet the
    /// event was never read. The pass must read once more before it calls that the end.
    /// </summary>
    [Fact]
    public async Task Verify_reads_what_was_released_between_its_empty_read_and_asking_what_is_held_back()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await using var tx = await OlderTransactionAsync(store);
        var late = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        var seen = new HashSet<Guid>();
        var report = await StoreVerifier.VerifyAsync(new EndingWhenAsked(store, () => tx.CommitAsync()), new StoreVerifierOptions
        {
            HeldBackWait = TimeSpan.Zero, Observe = e => seen.Add(e.EventId),
        });

        Assert.Contains(late.Events[0].EventId, seen);
        Assert.False(report.HeldBack);
    }

    /// <summary>
    /// A transaction that has taken its id and stays open (writing nothing): every event appended after it has a later
    /// transaction id and is held back from the global log until it ends. Disposing it ends it.
    /// </summary>
    private static async Task<OpenTransaction> OlderTransactionAsync(PostgresEventStore store)
    {
        var conn = await store.DataSource.OpenConnectionAsync();
        var tx = await conn.BeginTransactionAsync();
        await using (var takeId = new NpgsqlCommand("SELECT pg_current_xact_id()", conn, tx))
            await takeId.ExecuteScalarAsync();
        return new OpenTransaction(conn, tx);
    }

    private sealed class OpenTransaction(NpgsqlConnection conn, NpgsqlTransaction tx) : IAsyncDisposable
    {
        public Task CommitAsync() => tx.CommitAsync();

        public async ValueTask DisposeAsync()
        {
            await tx.DisposeAsync();
            await conn.DisposeAsync();
        }
    }

    /// <summary>The real store, whose older transaction in flight ends the first time a reader asks what is held back.</summary>
    private sealed class EndingWhenAsked(IEventStore store, Func<Task> end) : IEventStore
    {
        private Func<Task>? _end = end;

        public async Task<bool> HoldsBackAsync(GlobalPosition? after, CancellationToken ct = default)
        {
            if (Interlocked.Exchange(ref _end, null) is { } ending) await ending();
            return await store.HoldsBackAsync(after, ct);
        }

        public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
            TransactionEndorsement? endorsement = null, CancellationToken ct = default) => store.AppendAsync(streamId, expected, events, endorsement, ct);
        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 0, CancellationToken ct = default) => store.ReadStreamAsync(streamId, fromVersion, ct);
        public Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default) => store.ReadLastAsync(streamId, ct);
        public Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default) => store.ReadAllAsync(after, maxCount, ct);
        public IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(GlobalPosition? after, CancellationToken ct = default) => store.SubscribeAllAsync(after, ct);
        public Task<bool> IsHealthyAsync(CancellationToken ct = default) => store.IsHealthyAsync(ct);
    }

    [Fact]
    public async Task Subscription_picks_up_events_released_by_an_unrelated_transaction_ending_without_a_notification()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await using var sub = new Subscription(store, null);
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(100)));

        await using var tx = await OlderTransactionAsync(store);
        var appended = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1)); // notifies, but held back
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(400)));

        await tx.CommitAsync(); // no notification: only the subscription's re-read finds the event
        var received = await sub.NextAsync().WaitAsync(Patience);
        Assert.Equal(appended.Events[0].EventId, received.EventId);
    }

    /// <summary>A second store on the same database: another API node, whose appends this store's cached heads do not know.</summary>
    private async Task<(PostgresEventStore A, PostgresEventStore B)> TwoNodesAsync(TimeSpan? pollInterval = null)
    {
        var a = (PostgresEventStore)await NewStoreAsync();
        var b = new PostgresEventStore(a.DataSource, pollInterval);
        TrackForDisposal(b);
        return (a, b);
    }

    [Fact]
    public async Task Two_nodes_appending_to_one_stream_keep_one_chain_and_stale_knowledge_never_wins()
    {
        var (a, b) = await TwoNodesAsync();
        var stream = NewStreamId();
        await a.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1));               // a knows: head 0
        await b.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(2));             // head 2, a does not know

        var any = await a.AppendAsync(stream, ExpectedVersion.Any, NewEvents(1));          // a's stale head loses, Any retries
        Assert.Equal(3, any.LastVersion);
        await b.AppendAsync(stream, ExpectedVersion.Exactly(3), NewEvents(1));             // head 4, a believes 3
        var stale = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => a.AppendAsync(stream, ExpectedVersion.Exactly(3), NewEvents(1)));
        Assert.Equal(4, stale.ActualLastVersion);
        Assert.Equal(5, (await a.AppendAsync(stream, ExpectedVersion.Exactly(4), NewEvents(1))).LastVersion);

        var retried = NewEvents(1);
        await b.AppendAsync(stream, ExpectedVersion.Exactly(5), retried);                  // a believes 5 is the head
        Assert.Equal(6, (await a.AppendAsync(stream, ExpectedVersion.Exactly(5), retried)).LastVersion); // a replay, not a duplicate

        var read = await ReadStreamAsync(b, stream);
        Assert.Equal(7, read.Count);
        var prev = new byte[32];
        for (var v = 0; v < read.Count; v++)
        {
            Assert.Equal(v, read[v].Version);
            Assert.Equal(prev, read[v].PrevHash);
            Assert.Equal(HashChain.ComputeHash(read[v]), read[v].Hash);
            prev = read[v].Hash;
        }
    }

    [Fact]
    public async Task A_subscriber_on_another_node_is_woken_by_the_notification_not_the_poll()
    {
        var (a, b) = await TwoNodesAsync(pollInterval: TimeSpan.FromMinutes(5));
        await using var sub = new Subscription(b, null);
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(200)));

        var appended = await a.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        var received = await sub.NextAsync().WaitAsync(Patience);
        Assert.Equal(appended.Events[0].EventId, received.EventId);
    }

    [Fact]
    public async Task EnsureSchema_is_idempotent_and_safe_to_run_concurrently()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.EnsureSchemaAsync()));

        Assert.Single(await ReadAllEventuallyAsync(store, 1));
    }

    [Fact]
    public async Task Malformed_appends_are_refused_before_touching_the_database()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var e = NewEvent();

        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(stream, ExpectedVersion.NoStream, []));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(stream, ExpectedVersion.NoStream, [e, e]));
        Assert.Null(await store.ReadLastAsync(stream));
    }

    [Fact]
    public async Task Conflicting_event_ids_raise_DuplicateEventIdException()
    {
        var store = await NewStoreAsync();
        var e = NewEvent();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, [e]);

        var ex = await Assert.ThrowsAsync<DuplicateEventIdException>(() => store.AppendAsync(NewStreamId(), ExpectedVersion.Any, [e]));
        Assert.Equal(e.EventId, ex.EventId);
    }
}
