using System.Collections.Concurrent;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>The global log: one order, paging, positions for read-your-writes, and a reader following concurrent writers.</summary>
public abstract class GlobalLogConformance(StoreUnderTest target) : EventStoreConformance(target)
{
    // ------------------------------------------------------------------ order and paging

    [SkippableFact]
    public async Task ReadAll_returns_every_event_in_one_order_and_paging_neither_skips_nor_repeats()
    {
        var store = await NewStoreAsync();
        var streams = Enumerable.Range(0, 4).Select(_ => NewStreamId()).ToArray();
        var versions = new long[streams.Length];
        Array.Fill(versions, -1);
        var appended = new List<EventEnvelope>();
        for (var i = 0; i < 25; i++)
        {
            var s = i * 7 % streams.Length;
            var r = await store.AppendAsync(streams[s], ExpectedVersion.After(versions[s]), NewEvents(1 + i % 3));
            versions[s] = r.LastVersion;
            appended.AddRange(r.Events);
        }

        var all = await ReadAllEventuallyAsync(store, appended.Count);
        Assert.Equal(appended.Select(e => e.EventId), all.Select(e => e.EventId)); // sequential appends: append order
        AssertStrictlyIncreasing(all);

        foreach (var pageSize in new[] { 1, 2, 7, 50 })
        {
            var paged = new List<EventEnvelope>();
            var after = LogOrigin;
            while (true)
            {
                var page = await store.ReadAllAsync(after, pageSize);
                Assert.True(page.Count <= pageSize);
                if (page.Count == 0) break;
                paged.AddRange(page.Where(IsOwn));
                after = page[^1].Position;
            }
            Assert.Equal(all.Select(e => e.EventId), paged.Select(e => e.EventId));
            Assert.Equal(all.Select(e => e.Position), paged.Select(e => e.Position));
        }

        // strictly after a position, from the middle
        var middle = all[10].Position;
        var rest = (await store.ReadAllAsync(middle, 1000)).Where(IsOwn).ToList();
        Assert.Equal(all.Skip(11).Select(e => e.EventId), rest.Select(e => e.EventId));
        foreach (var e in all)
        {
            var inStream = (await ReadStreamAsync(store, e.StreamId))[(int)e.Version];
            AssertSameEvent(inStream, e);
        }
    }

    // ------------------------------------------------------------------ positions: read-your-writes

    /// <summary>
    /// Read-your-writes rests on this: the last event of an append's result (what a receipt waits on), of a replayed
    /// append's and a stream's last event carry the very position the global log gives them, so whoever waits for a
    /// projection to reach it waits exactly long enough. Earlier events of a transaction carry theirs or none (an
    /// EventStoreDB append answers with the position of its last event only); stream reads carry theirs or none.
    /// </summary>
    [SkippableFact]
    public async Task Appended_replayed_and_last_events_carry_their_global_log_positions()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var first = await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1));
        var events = NewEvents(3);
        var appended = await store.AppendAsync(stream, ExpectedVersion.Exactly(0), events);
        var replayed = await store.AppendAsync(stream, ExpectedVersion.Exactly(0), events);
        var last = await store.ReadLastAsync(stream);

        var all = await ReadAllEventuallyAsync(store, 4);
        Assert.Equal(4, all.Count);
        Assert.Equal(all[0].Position, first.Events[0].Position);
        Assert.Equal(all[^1].Position, appended.Events[^1].Position);
        Assert.Equal(all[^1].Position, replayed.Events[^1].Position);
        Assert.Equal(all[^1].Position, last?.Position);
        var read = await ReadStreamAsync(store, stream);
        var inAnyOrder = appended.Events.Concat(replayed.Events).Concat(read).Select(e => (e.Version, e.Position));
        Assert.All(inAnyOrder, e => Assert.True(e.Position is null || e.Position == all[(int)e.Version].Position,
            $"version {e.Version} carries {e.Position}, the global log {all[(int)e.Version].Position}"));
    }

    // ------------------------------------------------------------------ concurrent writers

    /// <summary>
    /// The proof the design asks for: many writers, some transactions committing late, one reader following the
    /// global log from its last position all along. It must see every event exactly once, in the order a fresh
    /// full read gives.
    /// </summary>
    [SkippableFact]
    public async Task A_reader_following_the_global_log_under_concurrent_writers_sees_every_event_once_in_order()
    {
        var store = await NewStoreAsync();
        const int writers = 16, appendsPerWriter = 50, streamsPerWriter = 4;
        var written = new ConcurrentDictionary<Guid, string>();
        var seen = new List<EventEnvelope>();
        using var writersDone = new CancellationTokenSource();

        var reader = Task.Run(async () =>
        {
            var last = LogOrigin;
            var deadline = DateTime.MaxValue;
            while (true)
            {
                var done = writersDone.IsCancellationRequested;
                var page = await store.ReadAllAsync(last, 64);
                seen.AddRange(page.Where(IsOwn));
                if (page.Count > 0) last = page[^1].Position;
                if (done)
                {
                    if (deadline == DateTime.MaxValue) deadline = DateTime.UtcNow + Patience;
                    if (page.Count == 0 && (seen.Count >= written.Count || DateTime.UtcNow > deadline)) return;
                }
                if (page.Count == 0) await Task.Delay(3);
            }
        });

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writerTasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await gate.Task;
            var random = new Random(w);
            var streams = Enumerable.Range(0, streamsPerWriter).Select(_ => NewStreamId()).ToArray();
            var versions = Enumerable.Repeat(-1L, streamsPerWriter).ToArray();
            for (var i = 0; i < appendsPerWriter; i++)
            {
                var s = random.Next(streamsPerWriter);
                var events = NewEvents(1 + random.Next(3) / 2);
                var slow = w % 4 == 0 && i % 10 == 3;
                var result = slow
                    ? await Target.AppendHeldOpenAsync(store, streams[s], ExpectedVersion.After(versions[s]), events, TimeSpan.FromMilliseconds(150))
                    : await store.AppendAsync(streams[s], ExpectedVersion.After(versions[s]), events);
                versions[s] = result.LastVersion;
                foreach (var e in events) written[e.EventId] = streams[s];
            }
        })).ToArray();
        gate.SetResult();
        await Task.WhenAll(writerTasks);
        await writersDone.CancelAsync();
        await reader;

        Assert.Equal(written.Count, seen.Select(e => e.EventId).Distinct().Count()); // nothing skipped
        Assert.Equal(written.Count, seen.Count);                                     // nothing repeated
        Assert.All(seen, e => Assert.Equal(written[e.EventId], e.StreamId));
        AssertStrictlyIncreasing(seen);
        var fresh = await ReadAllEventuallyAsync(store, written.Count, pageSize: 500);
        Assert.Equal(fresh.Select(e => (e.EventId, e.Position)), seen.Select(e => (e.EventId, e.Position)));
        foreach (var stream in seen.GroupBy(e => e.StreamId))
            Assert.Equal(Enumerable.Range(0, stream.Count()).Select(v => (long)v), stream.Select(e => e.Version));
        Target.AssertLateCommitsWereOvertaken();
    }
}
