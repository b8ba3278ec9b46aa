using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.Tests.EventStore;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

// The conformance suite on EventStoreDB, concern by concern (see EventStoreDbUnderTest for the server it runs on).
public sealed class EventStoreDbAppendTests() : AppendConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbReadTests() : ReadConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbGlobalLogTests() : GlobalLogConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbSubscriptionTests() : SubscriptionConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbIdempotencyTests() : IdempotencyConformance(new EventStoreDbUnderTest());

/// <summary>What one append costs on EventStoreDB, counted by the adapter (<see cref="EventStoreDbEventStore.ServerCalls"/>).</summary>
public sealed class EventStoreDbRoundTripTests() : EventStoreConformance(new EventStoreDbUnderTest())
{
    private async Task<EventStoreDbEventStore> NewEventStoreDbAsync() => (EventStoreDbEventStore)await NewStoreAsync();

    /// <summary>
    /// One append per transaction: with the stream's head known (after this store's own append, or its read of the
    /// stream as the command path does before deciding), an append at the exact expected version is one server round
    /// trip — no claim, no read. The stream's first append (no-stream) is two: the stream's metadata is read first, since
    /// EventStoreDB would take it on a soft-deleted stream after the deleted revisions (one per stream created, never
    /// again). An append sent again after its acknowledgement was lost (the same events and expectation, by a store
    /// still believing the old head) is one round trip too, and writes nothing.
    /// </summary>
    [SkippableFact]
    public async Task A_transaction_costs_one_round_trip_once_the_head_is_known()
    {
        var store = await NewEventStoreDbAsync();
        var stream = NewStreamId();

        async Task<(AppendResult Result, long RoundTrips)> Append(EventStoreDbEventStore s, ExpectedVersion expected, ProposedEvent[] events)
        {
            var before = s.ServerCalls;
            var result = await s.AppendAsync(stream, expected, events);
            return (result, s.ServerCalls - before);
        }

        var (first, trips) = await Append(store, ExpectedVersion.NoStream, NewEvents(2));
        Assert.Equal(2, trips); // the metadata read, then the append
        var last = first.LastVersion;
        for (var i = 0; i < 5; i++)
        {
            (var next, trips) = await Append(store, ExpectedVersion.Exactly(last), NewEvents(1 + i % 3));
            Assert.Equal(1, trips);
            last = next.LastVersion;
        }

        // The command path on another node: read the stream to decide, then append after what it read.
        var node = await NewEventStoreDbAsync();
        var read = await ReadStreamAsync(node, stream);
        (var decided, trips) = await Append(node, ExpectedVersion.Exactly(read[^1].Version), NewEvents(3));
        Assert.Equal(1, trips);

        // `node` appends again; the acknowledgement "is lost": `retrier`, which saw the same head, sends the same events.
        var retrier = await NewEventStoreDbAsync();
        await ReadStreamAsync(retrier, stream);
        var events = NewEvents(2);
        var (landed, _) = await Append(node, ExpectedVersion.Exactly(decided.LastVersion), events);
        (var replayed, trips) = await Append(retrier, ExpectedVersion.Exactly(decided.LastVersion), events);
        Assert.Equal(1, trips);
        Assert.Equal(landed.TransactionHash, replayed.TransactionHash);
        Assert.Equal(landed.Events[^1].Position, replayed.Events[^1].Position);
        Assert.Equal(landed.LastVersion + 1, (await ReadStreamAsync(store, stream)).Count);
    }
}

/// <summary>
/// EventStoreDB under the suite: the server <c>HEALTHEVENTS_ESDB</c> names (for example
/// <c>esdb://127.0.0.1:2113?tls=false</c>, see docker-compose.yml). Without it every test reports Skipped with the
/// reason: there is no server here, and none is faked. Tests share the server, so each test names its streams with
/// a prefix of its own and sees only its streams, in the part of $all after the position its store was created at.
/// </summary>
public sealed class EventStoreDbUnderTest : StoreUnderTest
{
    public const string Variable = "HEALTHEVENTS_ESDB";
    public const string SkipReason = "HEALTHEVENTS_ESDB is not set: no EventStoreDB server to test against";

    private readonly string _prefix = $"patient-t{Guid.NewGuid():N}"[..17] + "-";
    private GlobalPosition? _origin;
    private bool _originTaken;

    public override bool OwnsWholeLog => false;
    /// <summary>
    /// False by decision: the server sees ids per stream, and refusing ids of other streams would cost a second,
    /// non-atomic write per transaction (docs/architecture.md, "The event stores").
    /// </summary>
    public override bool RefusesIdsOfOtherStreams => false;
    public override string StreamPrefix => _prefix;
    public override GlobalPosition? LogOrigin => _origin;

    public override async Task<IEventStore> CreateStoreAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), SkipReason);
        var store = new EventStoreDbEventStore(EventStoreDbSettings.Parse(connectionString!));
        if (!_originTaken)
        {
            // The log's end before the suite: a marker appended now (the suite reads strictly after it).
            var marker = new ProposedEvent(Guid.NewGuid(), "origin-marked", "{}"u8.ToArray(), "{}"u8.ToArray());
            _origin = (await store.AppendAsync($"origin-{Guid.NewGuid():N}", ExpectedVersion.NoStream, [marker])).Events[^1].Position;
            _originTaken = true;
        }
        return store;
    }
}
