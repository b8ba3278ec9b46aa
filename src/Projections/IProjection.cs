using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections;

/// <summary>
/// A read-side handler over envelopes. The runner calls <see cref="ApplyAsync"/> once per event, in global order,
/// with one Marten session per batch; the projection only queues document changes in that session, and the runner
/// saves them together with its checkpoint. Events of types the serializer does not know never reach it.
/// </summary>
public interface IProjection
{
    /// <summary>Stable name: the checkpoint id and the advisory lock key derive from it.</summary>
    string Name { get; }

    /// <summary>Every document type this projection writes; a rebuild deletes them all.</summary>
    IReadOnlyCollection<Type> DocumentTypes { get; }

    Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct);
}

/// <summary>An event as a projection sees it: the stored envelope, the event it holds, and its metadata.</summary>
public sealed record ProjectedEvent(EventEnvelope Envelope, IEvent Event, EventMetadata Metadata)
{

    public string StreamId => Envelope.StreamId;

    public long StreamVersion => Envelope.Version;

    /// <summary>
    /// The patient of a <c>patient-{guid}</c> stream in its one canonical spelling; null for any other stream — a
    /// second spelling of a patient's id is nobody's stream, and its events must not reach that patient's views.
    /// Parsed once, here, for every projection the event reaches.
    /// </summary>
    public Guid? PatientId { get; } = Application.Patients.PatientStream.TryParseStreamId(Envelope.StreamId, out var id) ? id : null;
}

/// <summary>
/// The skeleton the patient views share (audit, consents, records, insurance): a stable name, the document types a
/// rebuild deletes, and only a patient event of a patient's canonical stream reaching
/// <see cref="ApplyAsync(IDocumentSession, Guid, ProjectedEvent, CancellationToken)"/>, with that patient's id.
/// </summary>
public abstract class PatientView(string name, params Type[] documentTypes) : IProjection
{
    public string Name => name;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = documentTypes;

    public virtual Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct) =>
        e is { PatientId: { } patientId, Event: IPatientEvent } ? ApplyAsync(session, patientId, e, ct) : Task.CompletedTask;

    /// <summary>Queues the view's document changes for one event of <paramref name="patientId"/>'s stream.</summary>
    protected abstract Task ApplyAsync(IDocumentSession session, Guid patientId, ProjectedEvent e, CancellationToken ct);
}

/// <summary>
/// Optional: a projection that sees each batch before its events are applied, in the same session (to load what the
/// batch needs in one round trip instead of one per event).
/// </summary>
public interface IBatchPreparingProjection : IProjection
{
    Task PrepareBatchAsync(IDocumentSession session, IReadOnlyList<ProjectedEvent> batch, CancellationToken ct);
}

/// <summary>
/// Optional: a projection that takes every event of the global log, also one this build cannot read (an unknown type —
/// the server's reserved <c>$&gt;</c>, say — or bytes that are not its JSON, written past the service). The ledger is
/// one: its leaves are every event's stored hash, as the endorsers' witnesses and <c>verify</c> recompute them from the
/// log, so skipping one would make its tree heads disagree with theirs from there on.
/// </summary>
public interface IEveryEventProjection : IProjection
{
    /// <summary>Queues the changes for an event no <see cref="ProjectedEvent"/> could be made of (called in global order, like <see cref="IProjection.ApplyAsync"/>).</summary>
    Task ApplyUnreadableAsync(IDocumentSession session, EventEnvelope envelope, CancellationToken ct);
}

/// <summary>
/// Optional: a projection whose document types are shared with other projections of its kind (research projections),
/// so a reset deletes only its own documents instead of every document of <see cref="IProjection.DocumentTypes"/>.
/// </summary>
public interface IPartitionedProjection : IProjection
{
    /// <summary>Queues the deletion of every document of this projection in <paramref name="session"/>.</summary>
    void DeleteOwnDocuments(IDocumentSession session);
}

/// <summary>
/// Projections that appear at run time (research projections declared over HTTP). The runner asks its sources at
/// start and every <see cref="Runner.ProjectionRunnerOptions.SourcePollInterval"/> and starts a worker for each new one.
/// </summary>
public interface IProjectionSource
{
    /// <summary>Every projection the source knows now; the same instance for the same name on every call.</summary>
    Task<IReadOnlyList<IProjection>> LoadAsync(CancellationToken ct);
}
