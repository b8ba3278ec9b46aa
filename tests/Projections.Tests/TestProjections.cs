using HealthEvents.TestSupport;
using HealthEvents.Projections.Runner;
using Marten;

namespace HealthEvents.Projections.Tests;

/// <summary>How many times each event was applied to one projection.</summary>
public sealed record AppliedCount(string Id, string Projection, Guid EventId, int Count, long StreamVersion);

/// <summary>
/// Counts applications per event (load, increment, store: a second application of an event would show as 2).
/// <paramref name="failWhen"/> decides, per event, whether to throw <see cref="Failure"/> instead (with a message that
/// must never be logged): an <see cref="InvalidOperationException"/>, a bug of the projection's, unless a test says otherwise.
/// </summary>
public sealed class CountingProjection(string name, Func<ProjectedEvent, bool>? failWhen = null) : IProjection
{
    public const string SecretMessage = "Jane Doe, born 1961, HIV positive";

    private int _applied;

    public string Name => name;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(AppliedCount)];

    public Func<ProjectedEvent, bool>? FailWhen { get; set; } = failWhen;

    /// <summary>What it throws when <see cref="FailWhen"/> says so.</summary>
    public Func<Exception> Failure { get; set; } = () => new InvalidOperationException(SecretMessage);

    /// <summary>The failure of the moment a database's timeout is (retried, never parked).</summary>
    public static Exception Timeout() => new TimeoutException(SecretMessage);

    /// <summary>Calls that did not throw (including those of batches later rolled back).</summary>
    public int Applied => Volatile.Read(ref _applied);

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (FailWhen?.Invoke(e) == true) throw Failure();
        var id = $"{name}:{e.Envelope.EventId}";
        var doc = await session.LoadAsync<AppliedCount>(id, ct) ?? new AppliedCount(id, name, e.Envelope.EventId, 0, e.StreamVersion);
        session.Store(doc with { Count = doc.Count + 1 });
        Interlocked.Increment(ref _applied);
    }
}

public static class RunnerExtensions
{
    /// <summary>Starts the runner as the host would, and stops it on dispose.</summary>
    public static async Task<IAsyncDisposable> StartedAsync(this ProjectionRunner runner)
    {
        await runner.StartAsync(CancellationToken.None);
        return new Stopper(runner);
    }

    public static async Task WaitForOrFailAsync(this ProjectionRunner runner, Application.Ports.GlobalPosition position, int seconds = Patience.Seconds)
    {
        var reached = await runner.WaitForAsync(position, TimeSpan.FromSeconds(seconds));
        Assert.True(reached, $"projections did not reach {position}: " +
                             string.Join(", ", runner.Status.Select(s => $"{s.Name}@{s.Checkpoint} err={s.LastErrorType}")));
    }

    private sealed class Stopper(ProjectionRunner runner) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await runner.StopAsync(CancellationToken.None);
            runner.Dispose();
        }
    }
}

/// <summary>A key one event claims; <see cref="UniqueIndex"/> lets no two events claim the same one.</summary>
public sealed record ClaimedKey(string Id, string Key)
{
    public const string UniqueIndex = "he_test_claimed_key_uix";
}

/// <summary>
/// Claims a key per event — its own id, or the key <paramref name="keyOf"/> names — so an event claiming another's key
/// breaks the unique index, which shows only when the batch's documents are saved, for no one event in particular.
/// </summary>
public sealed class ClaimingProjection(string name, Func<ProjectedEvent, string?> keyOf) : IProjection
{
    public string Name => name;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(ClaimedKey), typeof(AppliedCount)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        session.Store(new ClaimedKey($"{name}:{e.Envelope.EventId}", keyOf(e) ?? e.Envelope.EventId.ToString()));
        await new CountingProjection(name).ApplyAsync(session, e, ct);
    }
}

/// <summary>A projection that takes every event, as the ledger does, and throws on the ones <see cref="CountingProjection.FailWhen"/> names.</summary>
public sealed class EveryEventProjection(CountingProjection counting) : IEveryEventProjection
{
    public string Name => counting.Name;

    public IReadOnlyCollection<Type> DocumentTypes => counting.DocumentTypes;

    public Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct) => counting.ApplyAsync(session, e, ct);

    public Task ApplyUnreadableAsync(IDocumentSession session, Application.Ports.EventEnvelope envelope, CancellationToken ct) => Task.CompletedTask;
}
