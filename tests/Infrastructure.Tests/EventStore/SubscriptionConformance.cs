using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>Subscriptions to the global log: catch-up then live, resuming after a position, stopping when cancelled.</summary>
public abstract class SubscriptionConformance(StoreUnderTest target) : EventStoreConformance(target)
{
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
