using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>The patient audit view: one <see cref="AuditEntry"/> per event of a patient stream.</summary>
public sealed class AuditProjection : IProjection
{
    public const string ProjectionName = "patient-audit";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(AuditEntry), typeof(AuditEntryCategory)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (e.PatientId is not { } patientId || e.Event is not IPatientEvent) return;
        var m = e.Metadata;
        var row = new AuditEntry
        {
            Id = e.Envelope.EventId,
            EventId = e.Envelope.EventId,
            PatientId = patientId,
            StreamVersion = e.StreamVersion,
            At = m.OccurredAt,
            Actor = new AuditActor(m.ActorId, m.ActorRole, m.Hospital),
            Hash = Convert.ToHexStringLower(e.Envelope.Hash),
            EndorsedBy = e.Envelope.Endorsement?.Signatures.Select(s => s.HospitalId).Distinct(StringComparer.Ordinal).ToArray() ?? [],
        };

        row = e.Event switch
        {
            PatientRegistered => row with { Action = AuditActions.PatientRegistered },
            PatientDetailsCorrected => row with { Action = AuditActions.DetailsCorrected },
            RecordEntryAdded a => Added(session, patientId, row, a),
            RecordEntryAmended a => row with
            {
                Action = AuditActions.EntryAmended, EntryId = a.EntryId, Reason = a.Reason,
                Categories = await CategoryOfAsync(session, a.EntryId, ct),
            },
            RecordEntryRetracted r => row with
            {
                Action = AuditActions.EntryRetracted, EntryId = r.EntryId, Reason = r.Reason,
                Categories = await CategoryOfAsync(session, r.EntryId, ct),
            },
            ConsentGranted g => row with
            {
                Action = AuditActions.ConsentGranted, ConsentId = g.ConsentId, ConsentIds = [g.ConsentId],
                Categories = g.Categories, Grantee = g.Grantee, Purposes = g.Purposes, Actions = g.Actions,
            },
            ConsentRevoked r => row with { Action = AuditActions.ConsentRevoked, ConsentId = r.ConsentId, ConsentIds = [r.ConsentId] },
            AccessGranted g => row with
            {
                Action = AuditActions.AccessGranted, Outcome = AuditOutcomes.Granted, AccessId = g.AccessId,
                Actor = new AuditActor(g.Actor.Id, g.Actor.Role, g.Actor.Hospital), Purpose = g.Purpose,
                Categories = g.CategoriesReleased, CategoriesRequested = g.CategoriesRequested,
                ConsentId = g.ConsentIds.Count > 0 ? g.ConsentIds[0] : null, ConsentIds = g.ConsentIds,
            },
            AccessDenied d => row with
            {
                Action = AuditActions.AccessDenied, Outcome = AuditOutcomes.Denied, AccessId = d.AccessId,
                Actor = new AuditActor(d.Actor.Id, d.Actor.Role, d.Actor.Hospital), Purpose = d.Purpose,
                Categories = d.CategoriesRequested, CategoriesRequested = d.CategoriesRequested, Reason = d.Reason,
            },
            EmergencyAccessUsed u => row with
            {
                Action = AuditActions.EmergencyAccess, Outcome = AuditOutcomes.Emergency, AccessId = u.AccessId,
                Actor = new AuditActor(u.Actor.Id, u.Actor.Role, u.Actor.Hospital), Reason = u.Reason,
                Categories = u.CategoriesReleased,
            },
            InsuranceLinked => row with { Action = AuditActions.InsuranceLinked },
            InsuranceEnded => row with { Action = AuditActions.InsuranceEnded },
            PatientForgotten => row with { Action = AuditActions.PatientForgotten },
            _ => row,
        };
        // The audit keeps every row after PatientForgotten: none holds clinical content.
        if (row.Action.Length > 0) session.Store(row);
    }

    private static AuditEntry Added(IDocumentSession session, Guid patientId, AuditEntry row, RecordEntryAdded a)
    {
        session.Store(new AuditEntryCategory(a.EntryId, patientId, a.Category));
        return row with { Action = AuditActions.EntryAdded, EntryId = a.EntryId, Categories = [a.Category] };
    }

    private static async Task<IReadOnlyList<Domain.Common.Category>> CategoryOfAsync(IDocumentSession session, Guid entryId, CancellationToken ct) =>
        await session.LoadAsync<AuditEntryCategory>(entryId, ct) is { } known ? [known.Category] : [];
}
