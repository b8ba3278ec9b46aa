using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Records;

/// <summary>The record view: one <see cref="RecordEntryDocument"/> per entry; PatientForgotten drops the patient's entries.</summary>
public sealed class RecordProjection() : PatientView(ProjectionName, typeof(RecordEntryDocument))
{
    public const string ProjectionName = "records";

    protected override async Task ApplyAsync(IDocumentSession session, Guid patientId, ProjectedEvent e, CancellationToken ct)
    {
        switch (e.Event)
        {
            case RecordEntryAdded a:
                session.Store(RecordEntryDocument.Added(patientId, a, e.StreamVersion));
                break;
            case RecordEntryAmended m:
                if (await session.LoadAsync<RecordEntryDocument>(m.EntryId, ct) is { } amended)
                    session.Store(amended with
                    {
                        EncryptedContent = m.EncryptedContent,
                        Amended = true,
                        LastAmendedAt = e.Metadata.OccurredAt,
                        LastAmendedBy = m.AuthorId,
                        StreamVersion = e.StreamVersion,
                    });
                break;
            case RecordEntryRetracted r:
                if (await session.LoadAsync<RecordEntryDocument>(r.EntryId, ct) is { } retracted)
                    session.Store(retracted with { Retracted = true, RetractedAt = e.Metadata.OccurredAt, StreamVersion = e.StreamVersion });
                break;
            case PatientForgotten:
                session.HardDeleteWhere<RecordEntryDocument>(x => x.PatientId == patientId);
                break;
        }
    }
}
