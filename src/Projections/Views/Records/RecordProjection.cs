using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Records;

/// <summary>The record view: one <see cref="RecordEntryDocument"/> per entry; PatientForgotten drops the patient's entries.</summary>
public sealed class RecordProjection : IProjection
{
    public const string ProjectionName = "records";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(RecordEntryDocument)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (e.PatientId is not { } patientId) return;
        switch (e.Event)
        {
            case RecordEntryAdded a:
                session.Store(new RecordEntryDocument
                {
                    Id = a.EntryId,
                    EntryId = a.EntryId,
                    PatientId = patientId,
                    Category = a.Category,
                    CodeSystem = a.CodeSystem,
                    Code = a.Code,
                    EncryptedContent = a.EncryptedContent,
                    RecordedAt = a.RecordedAt,
                    AuthorId = a.AuthorId,
                    AuthorHospital = a.AuthorHospital,
                    StreamVersion = e.StreamVersion,
                });
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
