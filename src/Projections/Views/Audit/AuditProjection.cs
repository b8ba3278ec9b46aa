using System.Security.Cryptography;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;
using Marten;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>
/// The patient audit view: one <see cref="AuditEntry"/> per event of a patient stream, and one "research-use" row per
/// patient counted by each research publication (an event of the research stream), placed after the patient's events
/// applied before it. Each batch announces the patients whose rows it changed (<see cref="RowsChannel"/>) for live streams.
/// </summary>
public sealed class AuditProjection : IBatchPreparingProjection
{
    public const string ProjectionName = "patient-audit";

    /// <summary>
    /// The PostgreSQL notification channel on which each batch names (payload: the patient id) every patient whose rows
    /// it stores. NOTIFY is transactional: it is delivered when the batch commits, to every node listening, and never for
    /// a batch that rolled back — so a listener that reads after the notice sees the rows (<see cref="AuditFeed"/>).
    /// </summary>
    public const string RowsChannel = "he_audit_rows";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(AuditEntry), typeof(AuditEntryCategory), typeof(AuditPatientHead)];

    /// <summary>
    /// Queues one notice per patient of the batch, in the batch's own transaction. NOTIFY, not pg_notify(): a statement
    /// that returns no rows, as Marten expects of queued SQL among its batched operations; the payload is a GUID in its
    /// "D" format (hex digits and dashes), so inlining it is safe.
    /// </summary>
    public Task PrepareBatchAsync(IDocumentSession session, IReadOnlyList<ProjectedEvent> batch, CancellationToken ct)
    {
        var patients = batch.SelectMany(e => e.Event switch
        {
            ResearchResultsPublished p => p.Uses.Select(u => u.PatientId),
            IPatientEvent when e.PatientId is { } id => [id],
            _ => [],
        });
        foreach (var patientId in patients.Distinct())
            session.QueueSqlCommand($"NOTIFY {RowsChannel}, '{patientId:D}'");
        return Task.CompletedTask;
    }

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (e.Event is ResearchResultsPublished published)
        {
            await ResearchUsesAsync(session, e, published, ct);
            return;
        }
        if (e.PatientId is not { } patientId || e.Event is not IPatientEvent) return;
        if (e.Event is SignedByPatient signed)
        {
            await MarkSignedAsync(session, patientId, e.StreamVersion, signed, ct);
            return;
        }
        session.Store(new AuditPatientHead(patientId, e.StreamVersion, e.Envelope.EventId));
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
                Categories = g.Categories, Grantee = g.Grantee, Purposes = g.Purposes, Actions = g.Actions, ValidUntil = g.ValidUntil,
            },
            ConsentNarrowed n => row with
            {
                Action = AuditActions.ConsentNarrowed, ConsentId = n.ConsentId, ConsentIds = [n.ConsentId],
                Categories = n.Categories, Grantee = n.Grantee, Purposes = n.Purposes, Actions = n.Actions, ValidUntil = n.ValidUntil,
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
            // Categories: what the answer said would be released; the question is in CategoriesRequested.
            AccessExplained x => row with
            {
                Action = AuditActions.AccessExplained, AccessId = x.ExplanationId,
                Actor = new AuditActor(x.Actor.Id, x.Actor.Role, x.Actor.Hospital), Purpose = x.Purpose,
                Categories = x.CategoriesReleased, CategoriesRequested = x.CategoriesRequested, Reason = x.Reason,
                ConsentId = x.ConsentIds.Count > 0 ? x.ConsentIds[0] : null, ConsentIds = x.ConsentIds,
            },
            InsuranceLinked => row with { Action = AuditActions.InsuranceLinked },
            InsuranceEnded => row with { Action = AuditActions.InsuranceEnded },
            PatientForgotten => row with { Action = AuditActions.PatientForgotten },
            DeviceKeyEnrolled k => row with { Action = AuditActions.DeviceKeyEnrolled, DeviceKeyId = k.KeyId },
            DeviceKeyReplaced k => row with { Action = AuditActions.DeviceKeyReplaced, DeviceKeyId = k.KeyId, Reason = k.Reason },
            _ => row,
        };
        // The audit keeps every row after PatientForgotten: none holds clinical content.
        if (row.Action.Length > 0) session.Store(row);
    }

    /// <summary>
    /// One row per patient the publication counted: the researcher as actor, purpose research, the categories and
    /// consents that counted. It follows the patient's last event applied so far (same stream version, a higher sequence).
    /// </summary>
    private static async Task ResearchUsesAsync(IDocumentSession session, ProjectedEvent e, ResearchResultsPublished p, CancellationToken ct)
    {
        var ids = p.Uses.Select(u => u.PatientId).Distinct().ToArray();
        var heads = (await session.LoadManyAsync<AuditPatientHead>(ct, ids)).ToDictionary(h => h.Id);
        var m = e.Metadata;
        var endorsedBy = e.Envelope.Endorsement?.Signatures.Select(s => s.HospitalId).Distinct(StringComparer.Ordinal).ToArray() ?? [];
        foreach (var use in p.Uses)
        {
            var version = heads.TryGetValue(use.PatientId, out var head) ? head.LastVersion : await LastVersionAsync(session, use.PatientId, ct);
            session.Store(new AuditEntry
            {
                Id = RowId(e.Envelope.EventId, use.PatientId),
                EventId = e.Envelope.EventId,
                PatientId = use.PatientId,
                StreamVersion = version,
                Sequence = e.StreamVersion + 1,
                SourceStream = e.StreamId,
                At = m.OccurredAt,
                Action = AuditActions.ResearchUse,
                Actor = new AuditActor(p.ResearcherId, Role.Researcher, m.Hospital),
                Purpose = Purpose.Research,
                Categories = use.Categories,
                ConsentId = use.ConsentIds.Count > 0 ? use.ConsentIds[0] : null,
                ConsentIds = use.ConsentIds,
                ResearchProjection = p.Projection,
                Hash = Convert.ToHexStringLower(e.Envelope.Hash),
                EndorsedBy = endorsedBy,
            });
        }
    }

    /// <summary>
    /// The patient's signature follows the events of the command it signs, in the same transaction: the row of the
    /// event just before it (the head's last row, loaded from this batch or an earlier one) is marked as signed.
    /// </summary>
    private static async Task MarkSignedAsync(IDocumentSession session, Guid patientId, long version, SignedByPatient signed, CancellationToken ct)
    {
        var head = await session.LoadAsync<AuditPatientHead>(patientId, ct);
        if (head is { LastRowId: { } rowId } && head.LastVersion == version - 1 && await session.LoadAsync<AuditEntry>(rowId, ct) is { } row)
            session.Store(row with { SignedWithKey = signed.KeyId });
        session.Store(new AuditPatientHead(patientId, version, head?.LastRowId));
    }

    /// <summary>Without a head (rows written before heads existed): the patient's last own row, or -1.</summary>
    private static async Task<long> LastVersionAsync(IDocumentSession session, Guid patientId, CancellationToken ct)
    {
        var last = await session.Query<AuditEntry>()
            .Where(x => x.PatientId == patientId && x.Action != AuditActions.ResearchUse)
            .OrderByDescending(x => x.StreamVersion)
            .FirstOrDefaultAsync(ct);
        return last?.StreamVersion ?? -1;
    }

    /// <summary>A stable row id per (publication event, patient): a replay stores the same rows.</summary>
    private static Guid RowId(Guid eventId, Guid patientId)
    {
        Span<byte> input = stackalloc byte[32];
        eventId.TryWriteBytes(input[..16], bigEndian: true, out _);
        patientId.TryWriteBytes(input[16..], bigEndian: true, out _);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom), RFC 9562
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    private static AuditEntry Added(IDocumentSession session, Guid patientId, AuditEntry row, RecordEntryAdded a)
    {
        session.Store(new AuditEntryCategory(a.EntryId, patientId, a.Category));
        return row with { Action = AuditActions.EntryAdded, EntryId = a.EntryId, Categories = [a.Category] };
    }

    private static async Task<IReadOnlyList<Domain.Common.Category>> CategoryOfAsync(IDocumentSession session, Guid entryId, CancellationToken ct) =>
        await session.LoadAsync<AuditEntryCategory>(entryId, ct) is { } known ? [known.Category] : [];
}
