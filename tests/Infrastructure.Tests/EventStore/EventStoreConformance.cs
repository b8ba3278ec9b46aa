using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>
/// The behaviour every <see cref="IEventStore"/> adapter must show, written once against the port and split by concern:
/// <see cref="AppendConformance"/>, <see cref="ReadConformance"/>, <see cref="GlobalLogConformance"/>,
/// <see cref="SubscriptionConformance"/>, <see cref="IdempotencyConformance"/>. An adapter binds each concern to its
/// <see cref="StoreUnderTest"/> in one line (PostgresConformance.cs, EventStoreDbConformance.cs); this base holds what
/// they share: the stores of a test, disposed after it, and the helpers to write, read and compare events.
/// <para>
/// The global log may lag a moment behind appends (an adapter holds back events while an earlier transaction
/// is still in flight, anywhere on the server), so assertions on it wait until the expected events show up.
/// </para>
/// </summary>
public abstract class EventStoreConformance(StoreUnderTest target) : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = HealthEvents.TestSupport.Patience.Deadline;
    private readonly List<IEventStore> _stores = [];

    /// <summary>The adapter's side of this test: its store factory and its part of the global log.</summary>
    protected StoreUnderTest Target => target;

    /// <summary>Where the test's part of the global log begins (exclusive); null: the start of the log.</summary>
    protected GlobalPosition? LogOrigin => target.LogOrigin;

    /// <summary>Whether an event of the global log is this test's (always, when it owns the whole log).</summary>
    protected bool IsOwn(EventEnvelope e) => target.OwnsWholeLog || e.StreamId.StartsWith(target.StreamPrefix, StringComparison.Ordinal);

    /// <summary>A subscription to the test's part of the global log, strictly after <paramref name="after"/> (null: its beginning).</summary>
    protected Subscription Subscribe(IEventStore store, GlobalPosition? after) =>
        new(store, after ?? LogOrigin, target.OwnsWholeLog ? null : IsOwn);

    protected async Task<IEventStore> NewStoreAsync() => TrackForDisposal(await target.CreateStoreAsync());

    /// <summary>Disposed (when disposable) after the test, in reverse order of tracking.</summary>
    protected T TrackForDisposal<T>(T store) where T : IEventStore
    {
        _stores.Add(store);
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _stores.Count - 1; i >= 0; i--)
            if (_stores[i] is IAsyncDisposable d) await d.DisposeAsync();
        await target.DisposeAsync();
    }

    // ------------------------------------------------------------------ helpers

    protected string NewStreamId() => $"{target.StreamPrefix}{Guid.NewGuid()}";

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

    protected static void AssertSameEvent(EventEnvelope expected, EventEnvelope actual)
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
    protected static void AssertChained(IReadOnlyList<EventEnvelope> stream)
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

    protected static void AssertStrictlyIncreasing(IReadOnlyList<EventEnvelope> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            Assert.NotNull(events[i].Position);
            if (i > 0) Assert.True(events[i - 1].Position < events[i].Position, $"position {i} does not follow {i - 1}");
        }
    }

    // ------------------------------------------------------------------ subscriptions

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
}
