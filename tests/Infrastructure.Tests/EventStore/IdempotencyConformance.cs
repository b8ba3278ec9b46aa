using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>
/// Retries: the same event ids appended again are answered from the store; ids elsewhere or partly matching conflict
/// (ids in another stream only where the store sees ids store-wide: <see cref="StoreUnderTest.RefusesIdsOfOtherStreams"/>).
/// </summary>
public abstract class IdempotencyConformance(StoreUnderTest target) : EventStoreConformance(target)
{
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

        // An id stored in another stream: nothing of the append is written — where the store promises store-wide ids.
        // EventStoreDB does not (per-stream ids, one append per transaction: docs/architecture.md, "The event stores");
        // a retried command never proposes its ids on another stream, which the walk-through's retry tests show on both.
        if (Target.RefusesIdsOfOtherStreams)
        {
            var other = NewStreamId();
            await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(other, ExpectedVersion.NoStream, [a]));
            await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(other, ExpectedVersion.Any, [NewEvent(), b]));
            Assert.Empty(await ReadStreamAsync(store, other));
        }

        Assert.Equal([a.EventId, b.EventId], (await ReadStreamAsync(store, stream)).Select(e => e.EventId));
        var fresh = NewEvent();
        await store.AppendAsync(stream, ExpectedVersion.Exactly(1), [fresh]);
        Assert.Equal(3, (await ReadAllEventuallyAsync(store, 3)).Count);
    }
}
