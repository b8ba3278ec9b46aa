using HealthEvents.Application.Ports;

namespace HealthEvents.Projections.Runner;

public sealed partial class ProjectionRunner
{
    /// <summary>
    /// Catches up from the stored checkpoint on its own, then follows the live log: in the shared batches
    /// (<see cref="ProjectionRunnerOptions.ShareBatches"/>) or on its own subscription. Returns only by exception. A
    /// failure (its own or the shared batch's) backs off, and the projection catches up alone again, up to just before
    /// the event that failed, before it rejoins. Catching up alone, an event the projection itself fails on is parked
    /// and passed (<see cref="ProjectionApplier.ApplyOrParkAsync"/>): no single bad event stalls a view. A transient
    /// failure (the database's) is retried until it passes, and so is any failure of the ledger, which never skips.
    /// </summary>
    private async Task FollowLogAsync(Worker w, CancellationToken ct)
    {
        var failures = 0;
        int? cap = null; // after a failure at index i of a batch, the next batch stops before that event
        var first = true;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var checkpoint = await _applier.LoadCheckpointAsync(w.Name, ct);
                w.Loaded(checkpoint);
                if (first) RunnerLog.Leading(_logger, w.Name, checkpoint?.Position.ToString() ?? "start");
                first = false;

                // Catch up in batches straight from the log.
                while (true)
                {
                    var max = cap ?? _options.BatchSize;
                    var batch = await _eventStore.ReadAllAsync(checkpoint?.Position, max, ct);
                    if (batch.Count == 0) break;
                    checkpoint = await ApplyAsync(w, checkpoint, batch, ct);
                    cap = null;
                    failures = 0;
                    if (batch.Count < max) break;
                }
                w.SetCaughtUp(true);

                if (_options.ShareBatches)
                {
                    await _feed.FollowAsync(w, checkpoint, ct);
                    continue; // not reached: it returns by exception
                }
                await FollowLiveAsync(checkpoint?.Position, async (batch, more) =>
                {
                    checkpoint = await ApplyAsync(w, checkpoint, batch, ct);
                    failures = 0;
                    w.SetCaughtUp(!more);
                }, ct);
                // The subscription ended by itself (an adapter may end it): start over, but never in a hot loop.
                await Task.Delay(_options.MinBackoff, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                if (w.Snapshot().ConsecutiveFailures == 0) failures = 0; // it applied batches in the shared feed since
                failures++;
                var backoff = _options.BackoffAfter(failures);
                var type = RunnerLog.TypeOf(e);
                if (e is ProjectionApplyException failed)
                {
                    cap = failed.IndexInBatch is { } i ? Math.Max(1, i) : null;
                    RunnerLog.ApplyFailed(_logger, w.Name, failed.Position, type, backoff);
                    if (failures == ProjectionStatus.StalledAfter && w.Projection is IEveryEventProjection
                        && !ProjectionFailure.IsTransient(failed))
                        RunnerLog.CannotPark(_logger, w.Name, failed.Position, type);
                    w.Failed(type, failed.Position, failures);
                }
                else
                {
                    RunnerLog.RunFailed(_logger, w.Name, w.Snapshot().Checkpoint?.ToString() ?? "start", type, backoff);
                    w.Failed(type, null, failures);
                }
                await Task.Delay(backoff, ct);
            }
        }
    }

    /// <summary>
    /// Follows the live log after <paramref name="after"/>: hands <paramref name="apply"/> each batch — whatever the
    /// subscription has ready, at most <see cref="ProjectionRunnerOptions.BatchSize"/> events — with whether more is
    /// already waiting. Returns when the subscription ends by itself; throws when <paramref name="ct"/> ends it.
    /// </summary>
    private async Task FollowLiveAsync(GlobalPosition? after, Func<List<EventEnvelope>, bool, Task> apply, CancellationToken ct)
    {
        using var subscription = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var events = _eventStore.SubscribeAllAsync(after, subscription.Token).GetAsyncEnumerator(subscription.Token);
        var pending = default(ValueTask<bool>);
        var isPending = false;
        try
        {
            var batch = new List<EventEnvelope>();
            while (true)
            {
                var move = events.MoveNextAsync();
                if (!move.IsCompleted && batch.Count > 0)
                {
                    // Applied as soon as the next event is not ready; the read of the next one goes on meanwhile.
                    (pending, isPending) = (move, true);
                    await apply(batch, false);
                    batch = [];
                    isPending = false;
                }
                if (!await move) break;
                batch.Add(events.Current);
                if (batch.Count >= _options.BatchSize)
                {
                    await apply(batch, true);
                    batch = [];
                }
            }
            if (batch.Count > 0) await apply(batch, false);
        }
        finally
        {
            await subscription.CancelAsync();
            if (isPending)
            {
                try { await pending; }
                catch (Exception e) when (e is OperationCanceledException || subscription.IsCancellationRequested) { }
            }
            try { await events.DisposeAsync(); }
            catch (OperationCanceledException) { }
        }
    }

    private Task<ProjectionCheckpoint> ApplyAsync(
        Worker w, ProjectionCheckpoint? checkpoint, IReadOnlyList<EventEnvelope> batch, CancellationToken ct) =>
        _applier.ApplyOrParkAsync(w.Projection, checkpoint, batch, w.Applied, ct);
}
