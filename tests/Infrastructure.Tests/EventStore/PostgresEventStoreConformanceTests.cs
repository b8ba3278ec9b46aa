using System.Collections.Concurrent;
using HealthEvents.Application.EventStore;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>The conformance suite on PostgreSQL (a fresh database per store), plus what only PostgreSQL has: transactions.</summary>
public sealed class PostgresEventStoreConformanceTests : EventStoreConformanceTests
{
    private readonly List<string> _databases = [];
    private readonly ConcurrentBag<long> _committedPastHeldTransactions = [];

    protected override async Task<IEventStore> CreateStoreAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        _databases.Add(new NpgsqlConnectionStringBuilder(connectionString).Database!);
        var store = new PostgresEventStore(connectionString);
        await store.EnsureSchemaAsync();
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_databases.Count == 0) return;
        var server = await TestPostgres.InstanceAsync();
        await using var conn = new NpgsqlConnection(server.ConnectionString());
        await conn.OpenAsync();
        foreach (var db in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {db} WITH (FORCE)", conn);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// A real late commit: the append runs in a transaction that took its id (and inserted its rows) early and
    /// commits only after <paramref name="holdFor"/>, while other writers commit transactions with higher ids.
    /// </summary>
    protected override async Task<AppendResult> AppendHeldOpenAsync(
        IEventStore store, string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, TimeSpan holdFor)
    {
        var pg = (PostgresEventStore)store;
        await using var conn = await pg.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var result = await pg.AppendAsync(tx, streamId, expected, events);
        await Task.Delay(holdFor);
        _committedPastHeldTransactions.Add(await CountCommittedAfterAsync(pg, result.Events[0].Position!.Value.Commit));
        await tx.CommitAsync();
        return result;
    }

    /// <summary>Without holding back, a reader would have skipped these held transactions: later ones committed first.</summary>
    protected override void AssertLateCommitsWereOvertaken()
    {
        Assert.NotEmpty(_committedPastHeldTransactions);
        Assert.Contains(_committedPastHeldTransactions, n => n > 0);
    }

    private static async Task<long> CountCommittedAfterAsync(PostgresEventStore store, ulong transactionId)
    {
        await using var cmd = store.DataSource.CreateCommand("SELECT count(*) FROM he_events WHERE transaction_id > $1");
        cmd.Parameters.Add(new NpgsqlParameter<ulong> { TypedValue = transactionId, NpgsqlDbType = NpgsqlDbType.Xid8 });
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

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

        // A reader that got 'late' now would move past 'early' and never see it: 'late' must wait.
        Assert.Empty(await store.ReadAllAsync(follower, 100));
        await tx.CommitAsync();

        var all = await ReadAllEventuallyAsync(store, 4);
        Assert.Equal(
            before.Events.Concat(early.Events).Concat(late.Events).Select(e => e.EventId),
            all.Select(e => e.EventId));
    }

    [Fact]
    public async Task Subscription_picks_up_events_released_by_an_unrelated_transaction_ending_without_a_notification()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        await using var sub = new Subscription(store, null);
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(100)));

        await using var conn = await store.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var takeId = new NpgsqlCommand("SELECT pg_current_xact_id()", conn, tx))
            await takeId.ExecuteScalarAsync();
        var appended = await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1)); // notifies, but held back
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(400)));

        await tx.CommitAsync(); // no notification: only the subscription's re-read finds the event
        var received = await sub.NextAsync().WaitAsync(TimeSpan.FromSeconds(3));
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
