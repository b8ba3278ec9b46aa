using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>
/// Group commit on PostgreSQL: appends of many streams that queue while a commit is in flight share the next
/// transaction, and each still stands or falls on its own expectation.
/// </summary>
[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresGroupCommitTests() : EventStoreConformance(new PostgresUnderTest())
{
    /// <summary>
    /// Runs <paramref name="appends"/> while another transaction holds the events table against inserts: the first group
    /// waits at its INSERT, so whatever was not in it queues and is the next group — several appends in one transaction.
    /// </summary>
    private static async Task<Task[]> WhileInsertsWaitAsync(PostgresEventStore store, Func<Task[]> appends)
    {
        await using var conn = await store.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE he_events IN SHARE MODE", conn, tx))
            await hold.ExecuteNonQueryAsync();
        var started = appends();
        await tx.RollbackAsync();
        await Task.WhenAll(started.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        return started;
    }

    [Fact]
    public async Task Appends_of_many_streams_share_a_transaction_and_a_conflict_fails_only_its_own()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        var moved = NewStreamId();
        await store.AppendAsync(moved, ExpectedVersion.NoStream, NewEvents(2));
        var taken = NewEvent();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, [taken]);
        var replayed = NewStreamId();
        var replayEvents = NewEvents(1);
        var first = await store.AppendAsync(replayed, ExpectedVersion.NoStream, replayEvents);

        var fresh = Enumerable.Range(0, 12).Select(_ => NewStreamId()).ToArray();
        Task<AppendResult>[] freshAppends = [];
        Task<AppendResult> stale = null!, foreignId = null!, replay = null!;
        await WhileInsertsWaitAsync(store, () =>
        {
            freshAppends = fresh.Select(s => store.AppendAsync(s, ExpectedVersion.NoStream, NewEvents(2))).ToArray();
            stale = store.AppendAsync(moved, ExpectedVersion.Exactly(0), NewEvents(1));
            foreignId = store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, [taken]);
            replay = store.AppendAsync(replayed, ExpectedVersion.NoStream, replayEvents);
            return [.. freshAppends, stale, foreignId, replay];
        });

        // Each failure is its own: the stream that moved, the id stored elsewhere; the replay answers what is stored.
        Assert.Equal(1, (await Assert.ThrowsAsync<WrongExpectedVersionException>(() => stale)).ActualLastVersion);
        Assert.Equal(taken.EventId, (await Assert.ThrowsAsync<DuplicateEventIdException>(() => foreignId)).EventId);
        Assert.Equal(first.Events.Select(e => e.Hash), (await replay).Events.Select(e => e.Hash));
        Assert.Single(await ReadStreamAsync(store, replayed));

        // Every other append landed, chained, at its own versions — and several of them in one transaction.
        var results = await Task.WhenAll(freshAppends);
        foreach (var (stream, result) in fresh.Zip(results))
        {
            var read = await ReadStreamAsync(store, stream);
            AssertChained(read);
            Assert.Equal(result.Events.Select(e => e.EventId), read.Select(e => e.EventId));
        }
        var transactions = results.Select(r => r.Events[0].Position!.Value.Commit).Distinct().Count();
        Assert.True(transactions < fresh.Length, $"{fresh.Length} appends committed in {transactions} transactions");
        var all = await ReadAllEventuallyAsync(store, 2 + 1 + 1 + fresh.Length * 2);
        AssertStrictlyIncreasing(all);
        Assert.Equal(all.Count, all.Select(e => e.EventId).Distinct().Count());
    }

    [Fact]
    public async Task A_group_that_loses_a_race_to_another_node_still_lands_every_append_that_can()
    {
        var a = (PostgresEventStore)await NewStoreAsync();
        var b = TrackForDisposal(new PostgresEventStore(a.DataSource));
        var contested = NewStreamId();
        await a.AppendAsync(contested, ExpectedVersion.NoStream, NewEvents(1));     // a knows: head 0
        await b.AppendAsync(contested, ExpectedVersion.Exactly(0), NewEvents(1));  // head 1, unknown to a

        var others = Enumerable.Range(0, 6).Select(_ => NewStreamId()).ToArray();
        Task<AppendResult> lost = null!;
        Task<AppendResult>[] landed = [];
        await WhileInsertsWaitAsync(a, () =>
        {
            lost = a.AppendAsync(contested, ExpectedVersion.Exactly(0), NewEvents(1)); // a's stale head: the group's insert fails
            landed = others.Select(s => a.AppendAsync(s, ExpectedVersion.NoStream, NewEvents(1))).ToArray();
            return [lost, .. landed];
        });

        Assert.Equal(1, (await Assert.ThrowsAsync<WrongExpectedVersionException>(() => lost)).ActualLastVersion);
        foreach (var (stream, result) in others.Zip(await Task.WhenAll(landed)))
            Assert.Equal(result.Events[0].EventId, Assert.Single(await ReadStreamAsync(b, stream)).EventId);
        AssertChained(await ReadStreamAsync(b, contested));
        Assert.Equal(2, (await ReadStreamAsync(b, contested)).Count);
    }

    [Fact]
    public async Task Appends_to_one_stream_queued_together_commit_in_order_each_on_its_own_expectation()
    {
        var store = (PostgresEventStore)await NewStoreAsync();
        var stream = NewStreamId();
        Task<AppendResult>[] appends = [];
        await WhileInsertsWaitAsync(store, () =>
        {
            // The same stream twice: only one per group, so the second sees the first as committed.
            appends = [store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1)), store.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(1)),
                store.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(1))];
            return appends;
        });

        Assert.Equal(0, (await appends[0]).LastVersion);
        Assert.Equal(1, (await appends[1]).LastVersion);
        Assert.Equal(1, (await Assert.ThrowsAsync<WrongExpectedVersionException>(() => appends[2])).ActualLastVersion);
        AssertChained(await ReadStreamAsync(store, stream));
    }
}
