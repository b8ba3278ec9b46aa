using System.Reflection;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// Applies a batch of envelopes to one projection in one Marten session and stores the projection's checkpoint in
/// the same transaction: a batch is applied entirely, with its checkpoint, or not at all. The session runs inside one
/// transaction of its own (the loads the projection makes included) that commits without waiting for the WAL flush
/// (<c>synchronous_commit = off</c>, PostgreSQL 15 docs §30.4): the read side is rebuilt from the log, and since the
/// checkpoint moves with the documents, a crash that loses the last commits only makes the view replay them. Used by
/// the runner and the rebuilder alike. An event this build cannot read (<see cref="UnreadableEventException"/>: written past
/// the service) is skipped, logged by stream, version and position only, and counted in the checkpoint — one bad event
/// must not stall a view for everyone; verification reports it. A projection that takes every event
/// (<see cref="IEveryEventProjection"/>: the ledger) is handed it as stored instead. An event a projection fails on is
/// parked by <see cref="ApplyOrParkAsync"/> (ProjectionApplier.Parking.cs).
/// </summary>
internal sealed partial class ProjectionApplier(ReadModelStore readModels, EventSerializer serializer, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public async Task<ProjectionCheckpoint?> LoadCheckpointAsync(string projection, CancellationToken ct)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        return await session.LoadAsync<ProjectionCheckpoint>(projection, ct);
    }

    /// <summary>
    /// Applies <paramref name="batch"/> (in global order, all after <paramref name="current"/>) and moves the checkpoint
    /// to its last event. Throws <see cref="ProjectionApplyException"/> when an event cannot be applied; nothing of the
    /// batch is saved then.
    /// </summary>
    public async Task<ProjectionCheckpoint> ApplyBatchAsync(
        IProjection projection, ProjectionCheckpoint? current, IReadOnlyList<EventEnvelope> batch, CancellationToken ct)
    {
        await using var tx = await readModels.BeginApplyAsync(ct);
        var next = await ApplyInAsync(tx, projection, current, batch, ct);
        await tx.CommitAsync(ct);
        return next;
    }

    /// <summary>
    /// Applies <paramref name="batch"/> as <see cref="ApplyBatchAsync"/> does, inside <paramref name="tx"/>, and leaves
    /// committing to its owner (a shared batch applies several projections in one transaction). The checkpoint returned
    /// holds only once <paramref name="tx"/> commits. After a <see cref="ProjectionApplyException"/> the transaction may
    /// be aborted: roll it back.
    /// </summary>
    public async Task<ProjectionCheckpoint> ApplyInAsync(
        ApplyTransaction tx, IProjection projection, ProjectionCheckpoint? current, IReadOnlyList<EventEnvelope> batch, CancellationToken ct)
    {
        if (batch.Count == 0) throw new ArgumentException("A batch holds at least one event.", nameof(batch));
        // Identity map: an event can load a document that an earlier event of the same batch stored, before it is saved.
        await using var session = readModels.IdentitySession(tx);
        var events = new ProjectedEvent?[batch.Count];
        var unreadable = 0;
        string? lastUnreadable = null;
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                events[i] = ToProjected(batch[i]);
            }
            catch (UnreadableEventException) when (projection is IEveryEventProjection)
            {
                // Handed to it as stored below: not skipped, so not counted.
            }
            catch (UnreadableEventException)
            {
                unreadable++;
                lastUnreadable = $"{batch[i].StreamId}@{batch[i].Version}";
                RunnerLog.Unreadable(_logger, projection.Name, batch[i].StreamId, batch[i].Version, PositionOf(batch[i]));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                throw Failed(projection, tx, PositionOf(batch[i]), i, ex);
            }
        }
        if (projection is IBatchPreparingProjection preparing)
        {
            try
            {
                await preparing.PrepareBatchAsync(session, [.. events.OfType<ProjectedEvent>()], ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                throw Failed(projection, tx, PositionOf(batch[0]), null, ex); // any of the batch's events
            }
        }
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                if (events[i] is { } e) await projection.ApplyAsync(session, e, ct);
                else if (projection is IEveryEventProjection every) await every.ApplyUnreadableAsync(session, batch[i], ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                throw Failed(projection, tx, PositionOf(batch[i]), i, ex);
            }
        }

        var next = Advance(projection, current, batch, unreadable, lastUnreadable, parked: null);
        // Fails the whole transaction if someone else moved the checkpoint since we read it.
        session.UpdateRevision(next, next.Revision);
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // A constraint the documents break (a unique index) shows only here, for any of the batch's events.
            throw Failed(projection, tx, PositionOf(batch[0]), null, ex);
        }
        return next;
    }

    private static ProjectionApplyException Failed(IProjection projection, ApplyTransaction tx, GlobalPosition position, int? index, Exception ex) =>
        new(projection.Name, position, index, ex) { ConnectionLost = tx.ConnectionLost };

    /// <summary>The checkpoint after <paramref name="batch"/>: its last position, the counts moved on, the next revision.</summary>
    private static ProjectionCheckpoint Advance(
        IProjection projection, ProjectionCheckpoint? current, IReadOnlyList<EventEnvelope> batch, int unreadable, string? lastUnreadable,
        string? parked)
    {
        var last = PositionOf(batch[^1]);
        return new ProjectionCheckpoint
        {
            Id = projection.Name,
            Commit = last.Commit,
            Prepare = last.Prepare,
            EventsProcessed = (current?.EventsProcessed ?? 0) + batch.Count,
            UnreadableEvents = (current?.UnreadableEvents ?? 0) + unreadable,
            LastUnreadable = lastUnreadable ?? current?.LastUnreadable,
            ParkedEvents = (current?.ParkedEvents ?? 0) + (parked is null ? 0 : 1),
            LastParked = parked ?? current?.LastParked,
            ParkedInARow = parked is null ? 0 : (current?.ParkedInARow ?? 0) + 1,
            UpdatedAt = DateTimeOffset.UtcNow,
            Revision = (current?.Revision ?? 0) + 1,
        };
    }

    /// <summary>Deletes every document of the projection, its parked events and its checkpoint, in one transaction.</summary>
    public async Task ResetAsync(IProjection projection, CancellationToken ct)
    {
        await using var session = await readModels.LightweightSessionAsync(ct);
        if (projection is IPartitionedProjection partitioned)
            partitioned.DeleteOwnDocuments(session);
        else
            foreach (var type in projection.DocumentTypes)
                DeleteAllMethod.MakeGenericMethod(type).Invoke(null, [session]);
        var name = projection.Name;
        session.HardDeleteWhere<ParkedEvent>(p => p.Projection == name);
        session.Delete<ProjectionCheckpoint>(name);
        await session.SaveChangesAsync(ct);
    }

    private static readonly MethodInfo DeleteAllMethod =
        typeof(ProjectionApplier).GetMethod(nameof(DeleteAll), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static void DeleteAll<T>(IDocumentSession session) where T : notnull => session.HardDeleteWhere<T>(_ => true);

    private static GlobalPosition PositionOf(EventEnvelope envelope) =>
        envelope.Position ?? throw new InvalidOperationException("An event from the global log has a position.");

    /// <summary>The event of a known type with its metadata; null for types this build does not know (skipped).</summary>
    private ProjectedEvent? ToProjected(EventEnvelope envelope)
    {
        if (!serializer.IsKnown(envelope.Type)) return null;
        var e = serializer.Deserialize(envelope.Type, envelope.Data);
        var metadata = EventMetadata.FromBytes(envelope.Metadata);
        return new ProjectedEvent(envelope, e, metadata);
    }
}

/// <summary>
/// An event could not be applied. Carries where, and the original exception (whose message may hold personal data:
/// never log it). <see cref="IndexInBatch"/>: the failing event's index in its batch; null when the failure belongs to
/// the batch as a whole (preparing it, saving its documents) and <see cref="Position"/> is then the batch's first.
/// </summary>
public sealed class ProjectionApplyException(string projection, GlobalPosition position, int? indexInBatch, Exception inner)
    : Exception($"Projection {projection} failed at position {position}.", inner)
{
    public GlobalPosition Position { get; } = position;
    public int? IndexInBatch { get; } = indexInBatch;

    /// <summary>The batch's connection was gone after the failure: the database's failure, whatever was thrown.</summary>
    public bool ConnectionLost { get; init; }
}
