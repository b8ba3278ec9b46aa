using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>
/// What an <see cref="IEventStore"/> adapter supplies to the conformance suite (<see cref="EventStoreConformance"/>): a
/// store per test (the factory may call Skip.If), and which part of the global log belongs to the test
/// (<see cref="OwnsWholeLog"/>, <see cref="StreamPrefix"/>, <see cref="LogOrigin"/>). One instance per test.
/// </summary>
public abstract class StoreUnderTest : IAsyncDisposable
{
    /// <summary>A store for this test. Called at most a few times per test; the suite disposes it after the test when disposable.</summary>
    public abstract Task<IEventStore> CreateStoreAsync();

    /// <summary>
    /// True when the test's store is fresh and empty (PostgreSQL: a new database per store): every event of the global
    /// log is the test's, and the suite asserts on the whole log from its start, unfiltered. False on a server that
    /// tests share (EventStoreDB): the suite sees only the log after <see cref="LogOrigin"/> and, of it, only the
    /// streams this test created (named with <see cref="StreamPrefix"/>).
    /// </summary>
    public abstract bool OwnsWholeLog { get; }

    /// <summary>The beginning of every stream id this test creates.</summary>
    public abstract string StreamPrefix { get; }

    /// <summary>Where the test's part of the global log begins (exclusive); null: the start of the log.</summary>
    public virtual GlobalPosition? LogOrigin => null;

    /// <summary>
    /// Whether the store refuses event ids already stored in another stream (PostgreSQL: a unique index). EventStoreDB
    /// sees ids per stream only and would need a claim per event to see them elsewhere; the service never proposes them
    /// (a command's ids and stream both follow from the request: docs/architecture.md, "The event stores"), so that
    /// store does not pay for it.
    /// </summary>
    public virtual bool RefusesIdsOfOtherStreams => true;

    /// <summary>
    /// An append whose transaction stays open for <paramref name="holdFor"/> before it commits (PostgreSQL: it takes
    /// its transaction id early and commits late). Adapters without such a notion just append late.
    /// </summary>
    public virtual async Task<AppendResult> AppendHeldOpenAsync(
        IEventStore store, string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, TimeSpan holdFor)
    {
        await Task.Delay(holdFor);
        return await store.AppendAsync(streamId, expected, events);
    }

    /// <summary>Called after the concurrent-writers scenario: an adapter can check the scenario really exercised the hard case.</summary>
    public virtual void AssertLateCommitsWereOvertaken() { }

    /// <summary>Called after the test, once its stores are disposed.</summary>
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
