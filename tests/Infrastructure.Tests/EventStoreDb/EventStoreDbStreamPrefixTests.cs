using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>
/// Stores with different stream prefixes share one real server (HEALTHEVENTS_ESDB) as if each had it alone: the same
/// stream ids and event ids apart, and a global log of their own. This is how the service's end-to-end tests run on
/// one EventStoreDB node side by side.
/// </summary>
public sealed class EventStoreDbStreamPrefixTests : IAsyncLifetime
{
    private readonly List<EventStoreDbEventStore> _stores = [];

    private EventStoreDbEventStore NewStore(string prefix)
    {
        var connectionString = Environment.GetEnvironmentVariable(EventStoreDbUnderTest.Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), EventStoreDbUnderTest.SkipReason);
        var store = new EventStoreDbEventStore(EventStoreDbSettings.Parse(connectionString!), new EventStoreDbStoreOptions { StreamPrefix = prefix });
        _stores.Add(store);
        return store;
    }

    private static ProposedEvent NewEvent(Guid? id = null) =>
        new(id ?? Guid.NewGuid(), "RecordEntryAdded", Encoding.UTF8.GetBytes($"{{\"n\":\"{Guid.NewGuid()}\"}}"), "{\"actor\":\"p-1\"}"u8.ToArray());

    [SkippableFact]
    public async Task Two_prefixes_hold_the_same_stream_ids_and_event_ids_apart_each_with_its_own_global_log()
    {
        var run = Guid.NewGuid().ToString("N")[..10];
        var a = NewStore($"ta{run}-");
        var b = NewStore($"tb{run}-");
        var unprefixed = NewStore("");
        var origin = (await unprefixed.AppendAsync($"origin-{run}", ExpectedVersion.NoStream, [NewEvent()])).Events[^1].Position; // the log's end now
        var shared = NewEvent();

        var inA = await a.AppendAsync("network", ExpectedVersion.NoStream, [shared, NewEvent()]);
        var inB = await b.AppendAsync("network", ExpectedVersion.NoStream, [shared]); // same id, other store: not a duplicate

        Assert.Equal(1, inA.LastVersion);
        Assert.Equal(0, inB.LastVersion);
        Assert.Equal(1, (await a.ReadLastAsync("network"))?.Version);
        Assert.Equal(0, (await b.ReadLastAsync("network"))?.Version);
        Assert.Equal(shared.EventId, (await b.ReadLastAsync("network"))?.EventId);

        var logA = await a.ReadAllAsync(origin, 1000);
        var logB = await b.ReadAllAsync(origin, 1000);
        Assert.Equal(inA.Events.Select(e => e.EventId), logA.Select(e => e.EventId));
        Assert.All(logA, e => Assert.Equal("network", e.StreamId)); // the prefix never shows
        Assert.Equal(inB.Events.Select(e => e.EventId), logB.Select(e => e.EventId));

        // A retry inside one store is still idempotent, and the same id with other bytes is refused there.
        Assert.Equal(inB.TransactionHash, (await b.AppendAsync("network", ExpectedVersion.NoStream, [shared])).TransactionHash);
        await Assert.ThrowsAsync<DuplicateEventIdException>(() => b.AppendAsync("network", ExpectedVersion.NoStream, [shared with { Data = "{}"u8.ToArray() }]));
        Assert.Equal(0, (await b.ReadLastAsync("network"))?.Version);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _stores) await s.DisposeAsync();
    }
}
