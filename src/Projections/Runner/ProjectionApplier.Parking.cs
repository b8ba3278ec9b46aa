using HealthEvents.Application.Ports;

namespace HealthEvents.Projections.Runner;

internal sealed partial class ProjectionApplier
{
    /// <summary>
    /// Most events parked one after the other, none applied between them. A projection that fails on every event
    /// (a bug of its own, not an odd event) would otherwise park them all: past this many it stalls instead, reported
    /// as stalled, until the cause is fixed.
    /// </summary>
    public const int MostParkedInARow = 10;

    /// <summary>
    /// Applies <paramref name="batch"/> as <see cref="ApplyBatchAsync"/> does, but an event the projection fails on is
    /// parked instead of stalling the view. A failure that is not the database's (<see cref="ProjectionFailure.IsTransient"/>)
    /// narrows the batch down to one event: the events before the failing one (all of the batch's first half when the
    /// failure belongs to no one event: preparing or saving) are applied on their own, then the rest. An event that fails
    /// alone, and again with the same exception type, is parked (<see cref="ParkAsync"/>). Each part commits with its
    /// checkpoint, reported to <paramref name="committed"/>; a transient failure, or one of a projection that takes every
    /// event (<see cref="IEveryEventProjection"/>), is thrown as <see cref="ProjectionApplyException"/> after the parts
    /// before it committed, for the caller to back off and retry.
    /// </summary>
    /// <returns>The checkpoint after the whole batch.</returns>
    public async Task<ProjectionCheckpoint> ApplyOrParkAsync(
        IProjection projection, ProjectionCheckpoint? current, IReadOnlyList<EventEnvelope> batch,
        Action<ProjectionCheckpoint> committed, CancellationToken ct)
    {
        ProjectionApplyException failed;
        try
        {
            return Committed(await ApplyBatchAsync(projection, current, batch, ct), committed);
        }
        catch (ProjectionApplyException e) when (Parkable(projection, e))
        {
            failed = e;
        }
        RunnerLog.Narrowing(_logger, projection.Name, failed.Position, RunnerLog.TypeOf(failed), batch.Count);
        if (batch.Count == 1)
        {
            // Once more on its own: a failure of the event itself repeats, one of the moment may not.
            try
            {
                return Committed(await ApplyBatchAsync(projection, current, batch, ct), committed);
            }
            catch (ProjectionApplyException again) when (Parkable(projection, again) && SameCause(failed, again))
            {
                if (current?.ParkedInARow >= MostParkedInARow)
                {
                    RunnerLog.ParkedTooMany(_logger, projection.Name, again.Position, RunnerLog.TypeOf(again), MostParkedInARow);
                    throw;
                }
                return Committed(await ParkAsync(projection, current, batch[0], again, ct), committed);
            }
        }
        var split = failed.IndexInBatch switch
        {
            int i when i > 0 && i < batch.Count => i, // the events before it apply: only it fails again
            0 => 1,                                   // it alone first
            _ => (batch.Count + 1) / 2,               // the batch's failure, not one event's: halve it
        };
        var head = await ApplyOrParkAsync(projection, current, batch.Take(split).ToList(), committed, ct);
        return await ApplyOrParkAsync(projection, head, batch.Skip(split).ToList(), committed, ct);
    }

    /// <summary>
    /// Moves <paramref name="projection"/>'s checkpoint past <paramref name="envelope"/> without applying it, and stores
    /// a <see cref="ParkedEvent"/> saying where it is and why, in one transaction; logs the same.
    /// </summary>
    private async Task<ProjectionCheckpoint> ParkAsync(
        IProjection projection, ProjectionCheckpoint? current, EventEnvelope envelope, ProjectionApplyException failure, CancellationToken ct)
    {
        var position = PositionOf(envelope);
        var (type, reason) = ProjectionFailure.Describe(failure.InnerException ?? failure);
        await using var tx = await readModels.BeginApplyAsync(ct);
        await using var session = readModels.IdentitySession(tx);
        session.Store(new ParkedEvent
        {
            Id = ParkedEvent.IdFor(projection.Name, envelope.EventId),
            Projection = projection.Name,
            StreamId = envelope.StreamId,
            StreamVersion = envelope.Version,
            EventId = envelope.EventId,
            EventType = envelope.Type,
            Commit = position.Commit,
            Prepare = position.Prepare,
            ExceptionType = type,
            Reason = reason,
            ParkedAt = DateTimeOffset.UtcNow,
        });
        var next = Advance(projection, current, [envelope], 0, null, parked: $"{envelope.StreamId}@{envelope.Version}");
        session.UpdateRevision(next, next.Revision);
        await session.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        RunnerLog.Parked(_logger, projection.Name, envelope.StreamId, envelope.Version, position, type, reason);
        return next;
    }

    /// <summary>
    /// Whether the failure may be the event's own. Never for a projection that takes every event: the ledger's leaves
    /// are every event of the log, as the endorsers' witnesses count them, and a tree without one would disagree with
    /// theirs at every head from there on — it stalls, saying so, until the cause is fixed.
    /// </summary>
    private static bool Parkable(IProjection projection, ProjectionApplyException e) =>
        projection is not IEveryEventProjection && !ProjectionFailure.IsTransient(e);

    private static bool SameCause(ProjectionApplyException first, ProjectionApplyException again) =>
        first.InnerException?.GetType() == again.InnerException?.GetType();

    private static ProjectionCheckpoint Committed(ProjectionCheckpoint next, Action<ProjectionCheckpoint> committed)
    {
        committed(next);
        return next;
    }
}
