using System.Collections.Concurrent;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>Appending: expected versions, the hash chain across appends, concurrent writers on one stream.</summary>
public abstract class AppendConformance(StoreUnderTest target) : EventStoreConformance(target)
{
    // ------------------------------------------------------------------ expected versions

    [SkippableFact]
    public async Task Append_with_NoStream_creates_the_stream_from_version_zero()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var events = NewEvents(3);

        var result = await store.AppendAsync(stream, ExpectedVersion.NoStream, events);

        Assert.Equal(2, result.LastVersion);
        Assert.Equal([0L, 1L, 2L], result.Events.Select(e => e.Version));
        Assert.Equal(events.Select(e => e.EventId), result.Events.Select(e => e.EventId));
        Assert.Equal(result.Events[^1].Hash, result.TransactionHash);
        var stored = await ReadStreamAsync(store, stream);
        Assert.Equal(3, stored.Count);
        for (var i = 0; i < 3; i++) AssertSameEvent(result.Events[i], stored[i]);
    }

    [SkippableFact]
    public async Task NoStream_on_an_existing_stream_fails_with_the_actual_version()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(2));

        var ex = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1)));

        Assert.Equal(stream, ex.StreamId);
        Assert.True(ex.Expected.IsNoStream);
        Assert.Equal(1, ex.ActualLastVersion);
        Assert.Equal(2, (await ReadStreamAsync(store, stream)).Count);
    }

    [SkippableFact]
    public async Task Exact_expected_version_succeeds_and_a_stale_one_fails()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(2));

        var next = await store.AppendAsync(stream, ExpectedVersion.Exactly(1), NewEvents(2));
        Assert.Equal([2L, 3L], next.Events.Select(e => e.Version));

        var stale = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.Exactly(1), NewEvents(1)));
        Assert.Equal(3, stale.ActualLastVersion);
        var ahead = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.Exactly(7), NewEvents(1)));
        Assert.Equal(3, ahead.ActualLastVersion);
        var missing = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(NewStreamId(), ExpectedVersion.Exactly(0), NewEvents(1)));
        Assert.Equal(-1, missing.ActualLastVersion);

        Assert.Equal(4, (await ReadStreamAsync(store, stream)).Count);
    }

    [SkippableFact]
    public async Task Any_appends_at_the_end_of_new_and_existing_streams()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();

        var first = await store.AppendAsync(stream, ExpectedVersion.Any, NewEvents(2));
        var second = await store.AppendAsync(stream, ExpectedVersion.Any, NewEvents(1));

        Assert.Equal([0L, 1L], first.Events.Select(e => e.Version));
        Assert.Equal(2, second.LastVersion);
        Assert.Equal(first.TransactionHash, second.Events[0].PrevHash);
        AssertChained(await ReadStreamAsync(store, stream));
    }

    // ------------------------------------------------------------------ the chain

    [SkippableFact]
    public async Task Versions_and_hashes_are_chained_across_appends()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var r1 = await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1));
        var r2 = await store.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(3));
        var r3 = await store.AppendAsync(stream, ExpectedVersion.Any, NewEvents(2));

        var read = await ReadStreamAsync(store, stream);

        Assert.Equal(6, read.Count);
        AssertChained(read);
        Assert.Equal(new byte[32], read[0].PrevHash);
        Assert.Equal(r1.TransactionHash, r2.Events[0].PrevHash);
        Assert.Equal(r2.TransactionHash, r3.Events[0].PrevHash);
        Assert.Equal(r3.TransactionHash, read[^1].Hash);
        Assert.Equal([3L, 4L, 5L], (await ReadStreamAsync(store, stream, from: 3)).Select(e => e.Version));
    }

    // ------------------------------------------------------------------ chains (a busy stream's round in one call)

    /// <summary>An endorsement standing for transaction <paramref name="tag"/> of a chain (the store keeps it, checks none).</summary>
    private static TransactionEndorsement Endorsement(long firstVersion, int count, byte tag) =>
        new(firstVersion, count, Enumerable.Repeat(tag, 32).ToArray(), tag, 8, [], [new EndorsementSignature("h1", "k1", new byte[64])]);

    private static List<ChainedAppend> Chain(long lastVersion, params int[] sizes)
    {
        var chain = new List<ChainedAppend>();
        foreach (var size in sizes)
        {
            chain.Add(new ChainedAppend(ExpectedVersion.After(lastVersion), NewEvents(size), Endorsement(lastVersion + 1, size, (byte)(chain.Count + 1))));
            lastVersion += size;
        }
        return chain;
    }

    [SkippableFact]
    public async Task A_chain_lands_in_one_call_as_consecutive_transactions_each_with_its_own_endorsement()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var first = await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1));
        var chain = Chain(0, 2, 1, 3);

        var result = await store.AppendChainAsync(stream, chain);

        Assert.Null(result.Stopped);
        Assert.Equal(["1,2", "3", "4,5,6"], result.Appended.Select(r => string.Join(",", r.Events.Select(e => e.Version))));
        Assert.Equal(first.TransactionHash, result.Appended[0].Events[0].PrevHash);
        Assert.Equal(result.Appended[0].TransactionHash, result.Appended[1].Events[0].PrevHash);
        Assert.Equal(result.Appended[1].TransactionHash, result.Appended[2].Events[0].PrevHash);
        var read = await ReadStreamAsync(store, stream);
        AssertChained(read);
        Assert.Equal(chain.SelectMany(t => t.Events.Select(e => e.EventId)), read.Skip(1).Select(e => e.EventId));
        // Each transaction's events carry that transaction's endorsement, not the chain's first or last.
        Assert.Equal([1, 1, 2, 3, 3, 3], read.Skip(1).Select(e => (int)e.Endorsement!.LeafIndex));
    }

    [SkippableFact]
    public async Task A_chain_on_a_stream_that_moved_appends_nothing_and_says_where_the_stream_is()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(2));

        var result = await store.AppendChainAsync(stream, Chain(0, 1, 1));

        Assert.Empty(result.Appended);
        Assert.Equal(1, Assert.IsType<WrongExpectedVersionException>(result.Stopped).ActualLastVersion);
        Assert.Equal(2, (await ReadStreamAsync(store, stream)).Count);
    }

    [SkippableFact]
    public async Task A_chain_sent_again_is_answered_from_the_stored_events_and_stored_once()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var chain = Chain(-1, 1, 2);
        var landed = await store.AppendChainAsync(stream, chain);

        var again = await store.AppendChainAsync(stream, chain);

        Assert.Null(again.Stopped);
        Assert.Equal(landed.Appended.Select(r => Convert.ToHexString(r.TransactionHash)), again.Appended.Select(r => Convert.ToHexString(r.TransactionHash)));
        Assert.Equal(3, (await ReadStreamAsync(store, stream)).Count);
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendChainAsync(stream, [chain[1], chain[0]]));
    }

    // ------------------------------------------------------------------ concurrent writers

    [SkippableFact]
    public async Task Concurrent_appenders_with_the_same_expected_version_exactly_one_wins()
    {
        var store = await NewStoreAsync();
        for (var round = 0; round < 5; round++)
        {
            var stream = NewStreamId();
            var expected = ExpectedVersion.NoStream;
            if (round % 2 == 1)
            {
                await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(2));
                expected = ExpectedVersion.Exactly(1);
            }
            var baseCount = round % 2 == 1 ? 2 : 0;
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var attempts = Enumerable.Range(0, 8).Select(_ => NewEvents(2)).ToArray();
            var tasks = attempts.Select(events => Task.Run(async () =>
            {
                await gate.Task;
                return await store.AppendAsync(stream, expected, events);
            })).ToArray();
            gate.SetResult();
            try { await Task.WhenAll(tasks); } catch (WrongExpectedVersionException) { }

            var winners = tasks.Where(t => t.IsCompletedSuccessfully).ToArray();
            var winner = Assert.Single(winners);
            foreach (var loser in tasks.Where(t => !t.IsCompletedSuccessfully))
            {
                var ex = Assert.IsType<WrongExpectedVersionException>(loser.Exception!.InnerException);
                Assert.Equal(baseCount + 1, ex.ActualLastVersion);
            }
            var read = await ReadStreamAsync(store, stream);
            Assert.Equal(baseCount + 2, read.Count);
            Assert.Equal((await winner).Events.Select(e => e.EventId), read.Skip(baseCount).Select(e => e.EventId));
            AssertChained(read);
        }
    }

    [SkippableFact]
    public async Task Concurrent_appenders_with_Any_all_land_once_in_one_unbroken_chain()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ids = new ConcurrentBag<Guid>();
        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            await gate.Task;
            for (var i = 0; i < 10; i++)
            {
                var events = NewEvents(1 + i % 2);
                await store.AppendAsync(stream, ExpectedVersion.Any, events);
                foreach (var e in events) ids.Add(e.EventId);
            }
        })).ToArray();
        gate.SetResult();
        await Task.WhenAll(tasks);

        var read = await ReadStreamAsync(store, stream);
        Assert.Equal(ids.Count, read.Count);
        Assert.Equal(ids.OrderBy(x => x), read.Select(e => e.EventId).OrderBy(x => x));
        AssertChained(read);
    }
}
