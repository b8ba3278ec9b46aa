using System.Collections.Concurrent;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>
/// The behaviour every <see cref="IEventStore"/> adapter must show, written once against the port.
/// An adapter subclasses it with a factory for a store per test (and may call Skip.If in it), and says which part
/// of the global log belongs to the test (<see cref="OwnsWholeLog"/>, <see cref="StreamPrefix"/>, <see cref="LogOrigin"/>).
/// <para>
/// The global log may lag a moment behind appends (an adapter holds back events while an earlier transaction
/// is still in flight, anywhere on the server), so assertions on it wait until the expected events show up.
/// </para>
/// </summary>
public abstract class EventStoreConformanceTests : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly List<IEventStore> _stores = [];

    /// <summary>A store for this test. Called at most a few times per test; disposed after it when disposable.</summary>
    protected abstract Task<IEventStore> CreateStoreAsync();

    /// <summary>
    /// True when the test's store is fresh and empty (PostgreSQL: a new database per store): every event of the global
    /// log is the test's, and the suite asserts on the whole log from its start, unfiltered. False on a server that
    /// tests share (EventStoreDB): the suite sees only the log after <see cref="LogOrigin"/> and, of it, only the
    /// streams this test created (named with <see cref="StreamPrefix"/>).
    /// </summary>
    protected abstract bool OwnsWholeLog { get; }

    /// <summary>The beginning of every stream id this test creates (<see cref="NewStreamId"/>).</summary>
    protected abstract string StreamPrefix { get; }

    /// <summary>Where the test's part of the global log begins (exclusive); null: the start of the log.</summary>
    protected virtual GlobalPosition? LogOrigin => null;

    /// <summary>Whether an event of the global log is this test's (always, when it owns the whole log).</summary>
    protected bool IsOwn(EventEnvelope e) => OwnsWholeLog || e.StreamId.StartsWith(StreamPrefix, StringComparison.Ordinal);

    /// <summary>A subscription to the test's part of the global log, strictly after <paramref name="after"/> (null: its beginning).</summary>
    protected Subscription Subscribe(IEventStore store, GlobalPosition? after) =>
        new(store, after ?? LogOrigin, OwnsWholeLog ? null : IsOwn);

    protected async Task<IEventStore> NewStoreAsync() => TrackForDisposal(await CreateStoreAsync());

    /// <summary>Disposed (when disposable) after the test, in reverse order of tracking.</summary>
    protected T TrackForDisposal<T>(T store) where T : IEventStore
    {
        _stores.Add(store);
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        for (var i = _stores.Count - 1; i >= 0; i--)
            if (_stores[i] is IAsyncDisposable d) await d.DisposeAsync();
    }

    /// <summary>
    /// An append whose transaction stays open for <paramref name="holdFor"/> before it commits (PostgreSQL: it takes
    /// its transaction id early and commits late). Adapters without such a notion just append late.
    /// </summary>
    protected virtual async Task<AppendResult> AppendHeldOpenAsync(
        IEventStore store, string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, TimeSpan holdFor)
    {
        await Task.Delay(holdFor);
        return await store.AppendAsync(streamId, expected, events);
    }

    /// <summary>Called after the concurrent-writers scenario: an adapter can check the scenario really exercised the hard case.</summary>
    protected virtual void AssertLateCommitsWereOvertaken() { }

    // ------------------------------------------------------------------ helpers

    protected string NewStreamId() => $"{StreamPrefix}{Guid.NewGuid()}";

    private static int _counter;

    protected static ProposedEvent NewEvent(string type = "RecordEntryAdded")
    {
        var n = Interlocked.Increment(ref _counter);
        return new ProposedEvent(
            Guid.NewGuid(), type,
            Encoding.UTF8.GetBytes($"{{\"entryId\":\"{Guid.NewGuid()}\",\"n\":{n}}}"),
            Encoding.UTF8.GetBytes($"{{\"actor\":\"practitioner-{n % 7}\",\"hospital\":\"h{n % 3}\"}}"));
    }

    protected static ProposedEvent[] NewEvents(int count) => Enumerable.Range(0, count).Select(_ => NewEvent()).ToArray();

    protected static async Task<List<EventEnvelope>> ReadStreamAsync(IEventStore store, string streamId, long from = 0)
    {
        var list = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(streamId, from)) list.Add(e);
        return list;
    }

    /// <summary>The test's whole global log, read in pages, once it holds at least <paramref name="expectedCount"/> events.</summary>
    protected async Task<List<EventEnvelope>> ReadAllEventuallyAsync(IEventStore store, int expectedCount, int pageSize = 1000)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var all = new List<EventEnvelope>();
            var after = LogOrigin;
            while (true)
            {
                var page = await store.ReadAllAsync(after, pageSize);
                all.AddRange(page.Where(IsOwn));
                if (page.Count < pageSize) break;
                after = page[^1].Position;
            }
            if (all.Count >= expectedCount || DateTime.UtcNow > deadline) return all;
            await Task.Delay(20);
        }
    }

    private static void AssertSameEvent(EventEnvelope expected, EventEnvelope actual)
    {
        Assert.Equal(expected.EventId, actual.EventId);
        Assert.Equal(expected.StreamId, actual.StreamId);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Data, actual.Data);
        Assert.Equal(expected.Metadata, actual.Metadata);
        Assert.Equal(expected.PrevHash, actual.PrevHash);
        Assert.Equal(expected.Hash, actual.Hash);
    }

    /// <summary>A whole stream: versions 0..n-1, version 0 links to 32 zero bytes, each link to the previous hash, each hash recomputes.</summary>
    private static void AssertChained(IReadOnlyList<EventEnvelope> stream)
    {
        var prev = new byte[32];
        for (var i = 0; i < stream.Count; i++)
        {
            var e = stream[i];
            Assert.Equal(i, e.Version);
            Assert.Equal(prev, e.PrevHash);
            Assert.Equal(HashChain.ComputeHash(e), e.Hash);
            prev = e.Hash;
        }
    }

    private static void AssertStrictlyIncreasing(IReadOnlyList<EventEnvelope> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            Assert.NotNull(events[i].Position);
            if (i > 0) Assert.True(events[i - 1].Position < events[i].Position, $"position {i} does not follow {i - 1}");
        }
    }

    // ------------------------------------------------------------------ appending and expected versions

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

    // ------------------------------------------------------------------ bytes, chain, endorsement

    [SkippableFact]
    public async Task Data_and_metadata_round_trip_byte_exact()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        byte[][] payloads =
        [
            [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80, 0x00], // not UTF-8, with NULs and a lone surrogate encoding
            Encoding.UTF8.GetBytes("{ \"b\" :\t2 ,\r\n  \"a\":[ 1,\n2 ]  ,\"s\":\"\\u00e9 é 🩺\"}\n\n"), // JSON, odd whitespace, key order
            [],
            Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray(), // larger than a page
        ];
        var events = payloads.Select((p, i) => new ProposedEvent(
            Guid.NewGuid(), i == 1 ? "PatientDétailsCorrected" : "Opaque",
            p, payloads[(i + 1) % payloads.Length])).ToArray();

        var appended = await store.AppendAsync(stream, ExpectedVersion.NoStream, events);
        var read = await ReadStreamAsync(store, stream);
        var last = await store.ReadLastAsync(stream);
        var all = await ReadAllEventuallyAsync(store, events.Length);

        Assert.Equal(events.Length, read.Count);
        Assert.Equal(events.Length, all.Count);
        for (var i = 0; i < events.Length; i++)
        {
            foreach (var e in new[] { appended.Events[i], read[i], all[i] })
            {
                Assert.Equal(events[i].Type, e.Type);
                Assert.Equal(events[i].Data, e.Data);
                Assert.Equal(events[i].Metadata, e.Metadata);
                Assert.Equal(HashChain.ComputeHash(e), e.Hash);
            }
        }
        Assert.NotNull(last);
        AssertSameEvent(read[^1], last);
    }

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

    [SkippableFact]
    public async Task Endorsement_round_trips_on_every_event_of_the_transaction()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1)); // no endorsement
        var endorsement = new TransactionEndorsement(
            FirstVersion: 1, EventCount: 2, SignedRoot: Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            LeafIndex: 5, BatchSize: 8,
            InclusionPath: [Enumerable.Repeat((byte)0xaa, 32).ToArray(), Enumerable.Repeat((byte)0x01, 32).ToArray()],
            Signatures:
            [
                new EndorsementSignature("hospital-a", "key-2025", Enumerable.Range(0, 64).Select(i => (byte)(255 - i)).ToArray()),
                new EndorsementSignature("hospital-b", "key-1", new byte[64]),
            ]);

        await store.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(2), endorsement);

        var read = await ReadStreamAsync(store, stream);
        var all = await ReadAllEventuallyAsync(store, 3);
        Assert.Null(read[0].Endorsement);
        Assert.Null(all[0].Endorsement);
        foreach (var e in new[] { read[1], read[2], all[1], all[2], (await store.ReadLastAsync(stream))! })
        {
            var got = e.Endorsement;
            Assert.NotNull(got);
            Assert.Equal(endorsement.FirstVersion, got.FirstVersion);
            Assert.Equal(endorsement.EventCount, got.EventCount);
            Assert.Equal(endorsement.SignedRoot, got.SignedRoot);
            Assert.Equal(endorsement.LeafIndex, got.LeafIndex);
            Assert.Equal(endorsement.BatchSize, got.BatchSize);
            Assert.Equal(endorsement.InclusionPath.Count, got.InclusionPath.Count);
            for (var i = 0; i < endorsement.InclusionPath.Count; i++) Assert.Equal(endorsement.InclusionPath[i], got.InclusionPath[i]);
            Assert.Equal(endorsement.Signatures.Count, got.Signatures.Count);
            for (var i = 0; i < endorsement.Signatures.Count; i++)
            {
                Assert.Equal(endorsement.Signatures[i].HospitalId, got.Signatures[i].HospitalId);
                Assert.Equal(endorsement.Signatures[i].KeyId, got.Signatures[i].KeyId);
                Assert.Equal(endorsement.Signatures[i].Signature, got.Signatures[i].Signature);
            }
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

    // ------------------------------------------------------------------ idempotency

    [SkippableFact]
    public async Task Appending_the_same_event_ids_again_returns_the_stored_events_without_duplicating()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var events = NewEvents(2);
        var first = await store.AppendAsync(stream, ExpectedVersion.NoStream, events);

        var again = await store.AppendAsync(stream, ExpectedVersion.NoStream, events);

        Assert.Equal(first.Events.Select(e => e.Version), again.Events.Select(e => e.Version));
        Assert.Equal(first.TransactionHash, again.TransactionHash);
        Assert.Equal(2, (await ReadStreamAsync(store, stream)).Count);
        Assert.Equal(2, (await ReadAllEventuallyAsync(store, 2)).Count);
    }

    [SkippableFact]
    public async Task A_retried_append_is_idempotent_even_after_later_appends_and_with_Any()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1));
        var retried = NewEvents(2);
        var original = await store.AppendAsync(stream, ExpectedVersion.Exactly(0), retried);
        await store.AppendAsync(stream, ExpectedVersion.Exactly(2), NewEvents(1));

        // The command's retry carries its original expectation; or no expectation at all.
        var replay = await store.AppendAsync(stream, ExpectedVersion.Exactly(0), retried);
        var replayAny = await store.AppendAsync(stream, ExpectedVersion.Any, retried);

        Assert.Equal([1L, 2L], replay.Events.Select(e => e.Version));
        Assert.Equal(original.TransactionHash, replay.TransactionHash);
        Assert.Equal([1L, 2L], replayAny.Events.Select(e => e.Version));
        var read = await ReadStreamAsync(store, stream);
        Assert.Equal(4, read.Count);
        AssertChained(read);
    }

    [SkippableFact]
    public async Task Stored_ids_at_another_place_or_only_partly_matching_are_a_conflict_and_write_nothing()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var a = NewEvent();
        var b = NewEvent();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, [a, b]);

        // partial matches in the same stream: wrong expected version, with the stream's actual version
        var partial = await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.NoStream, [a, NewEvent()]));
        Assert.Equal(1, partial.ActualLastVersion);
        await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.NoStream, [a, b, NewEvent()]));
        await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.Any, [b, a]));
        // the right ids, but not where the expectation says
        await Assert.ThrowsAsync<WrongExpectedVersionException>(
            () => store.AppendAsync(stream, ExpectedVersion.NoStream, [b]));

        // the same id with other content is not a retry of that event
        await Assert.ThrowsAnyAsync<Exception>(
            () => store.AppendAsync(stream, ExpectedVersion.NoStream, [a with { Data = "{\"other\":1}"u8.ToArray() }, b]));

        // an id stored in another stream: nothing of the append is written
        var other = NewStreamId();
        await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(other, ExpectedVersion.NoStream, [a]));
        await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(other, ExpectedVersion.Any, [NewEvent(), b]));

        Assert.Equal([a.EventId, b.EventId], (await ReadStreamAsync(store, stream)).Select(e => e.EventId));
        Assert.Empty(await ReadStreamAsync(store, other));
        var fresh = NewEvent();
        await store.AppendAsync(stream, ExpectedVersion.Exactly(1), [fresh]);
        Assert.Equal(3, (await ReadAllEventuallyAsync(store, 3)).Count);
    }

    // ------------------------------------------------------------------ reads

    [SkippableFact]
    public async Task A_missing_stream_reads_empty_and_the_store_is_healthy()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        Assert.Empty(await ReadStreamAsync(store, NewStreamId()));
        Assert.Null(await store.ReadLastAsync(NewStreamId()));
        Assert.True(await store.IsHealthyAsync());
    }

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

    // ------------------------------------------------------------------ concurrency

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
                    ? await AppendHeldOpenAsync(store, streams[s], ExpectedVersion.After(versions[s]), events, TimeSpan.FromMilliseconds(150))
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
        AssertLateCommitsWereOvertaken();
    }

    // ------------------------------------------------------------------ subscription

    /// <summary>Reads a subscription with a timeout per event; cancels and drains it when disposed.</summary>
    protected sealed class Subscription : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly IAsyncEnumerator<EventEnvelope> _events;
        private Task<bool>? _pending;

        /// <param name="keep">Which events the test sees (null: all; the subscription itself is never filtered).</param>
        public Subscription(IEventStore store, GlobalPosition? after, Func<EventEnvelope, bool>? keep = null)
        {
            var events = store.SubscribeAllAsync(after, _cts.Token);
            _events = (keep is null ? events : Where(events, keep, _cts.Token)).GetAsyncEnumerator(_cts.Token);
        }

        private static async IAsyncEnumerable<EventEnvelope> Where(
            IAsyncEnumerable<EventEnvelope> events, Func<EventEnvelope, bool> keep,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            await foreach (var e in events.WithCancellation(ct))
                if (keep(e)) yield return e;
        }

        public async Task<EventEnvelope> NextAsync()
        {
            _pending ??= _events.MoveNextAsync().AsTask();
            var hasNext = await _pending.WaitAsync(Patience);
            _pending = null;
            Assert.True(hasNext, "the subscription ended");
            return _events.Current;
        }

        /// <summary>True when nothing arrives within <paramref name="wait"/>.</summary>
        public async Task<bool> IsQuietForAsync(TimeSpan wait)
        {
            _pending ??= _events.MoveNextAsync().AsTask();
            return await Task.WhenAny(_pending, Task.Delay(wait)) != _pending;
        }

        public CancellationTokenSource Cancellation => _cts;
        public Task<bool>? Pending => _pending;

        public async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync();
            if (_pending is not null)
            {
                try { await _pending.WaitAsync(Patience); } catch (OperationCanceledException) { }
            }
            await _events.DisposeAsync();
            _cts.Dispose();
        }
    }

    [SkippableFact]
    public async Task Subscription_delivers_catch_up_then_live_events_in_order()
    {
        var store = await NewStoreAsync();
        var s1 = NewStreamId();
        var s2 = NewStreamId();
        var past = new List<EventEnvelope>();
        past.AddRange((await store.AppendAsync(s1, ExpectedVersion.NoStream, NewEvents(2))).Events);
        past.AddRange((await store.AppendAsync(s2, ExpectedVersion.NoStream, NewEvents(1))).Events);

        await using var sub = Subscribe(store, null);
        foreach (var expected in past) Assert.Equal(expected.EventId, (await sub.NextAsync()).EventId);
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(300)));

        var live = new List<EventEnvelope>();
        live.AddRange((await store.AppendAsync(s2, ExpectedVersion.Exactly(0), NewEvents(2))).Events);
        live.AddRange((await store.AppendAsync(s1, ExpectedVersion.Exactly(1), NewEvents(1))).Events);
        var received = new List<EventEnvelope>();
        foreach (var _ in live) received.Add(await sub.NextAsync());

        Assert.Equal(live.Select(e => e.EventId), received.Select(e => e.EventId));
        AssertStrictlyIncreasing(received);
        var all = await ReadAllEventuallyAsync(store, 6);
        Assert.Equal(all.Skip(3).Select(e => e.Position), received.Select(e => e.Position));
    }

    [SkippableFact]
    public async Task Subscription_resumes_strictly_after_the_given_position()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        for (var i = 0; i < 5; i++) await store.AppendAsync(stream, ExpectedVersion.After(i - 1), NewEvents(1));
        var all = await ReadAllEventuallyAsync(store, 5);

        await using var sub = Subscribe(store, all[2].Position);
        Assert.Equal(all[3].EventId, (await sub.NextAsync()).EventId);
        Assert.Equal(all[4].EventId, (await sub.NextAsync()).EventId);
        var live = await store.AppendAsync(stream, ExpectedVersion.Exactly(4), NewEvents(1));
        Assert.Equal(live.Events[0].EventId, (await sub.NextAsync()).EventId);

        var end = (await ReadAllEventuallyAsync(store, 6))[^1].Position;
        await using var atEnd = Subscribe(store, end);
        Assert.True(await atEnd.IsQuietForAsync(TimeSpan.FromMilliseconds(300)));
    }

    [SkippableFact]
    public async Task Subscription_stops_promptly_when_cancelled()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));
        var sub = Subscribe(store, null);
        await sub.NextAsync();
        Assert.True(await sub.IsQuietForAsync(TimeSpan.FromMilliseconds(200)));

        await sub.Cancellation.CancelAsync();
        var stopped = sub.Pending!;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped.WaitAsync(TimeSpan.FromSeconds(5)));
        await sub.DisposeAsync();
        Assert.True(await store.IsHealthyAsync());
    }
}
