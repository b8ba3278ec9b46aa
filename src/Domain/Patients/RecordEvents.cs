using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

[EventType("record.entry-added.v1")]
public sealed record RecordEntryAdded(
    Guid EntryId,
    Category Category,
    string CodeSystem,
    string Code,
    string EncryptedContent,
    DateTimeOffset RecordedAt,
    string AuthorId,
    string AuthorHospital) : IPatientEvent;

[EventType("record.entry-amended.v1")]
public sealed record RecordEntryAmended(
    Guid EntryId, string EncryptedContent, string Reason, string AuthorId, string AuthorHospital) : IPatientEvent;

/// <summary>Entered in error: the entry stays in history but no longer counts.</summary>
[EventType("record.entry-retracted.v1")]
public sealed record RecordEntryRetracted(
    Guid EntryId, string Reason, string AuthorId, string AuthorHospital) : IPatientEvent;
