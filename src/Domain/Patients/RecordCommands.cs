using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record AddRecordEntry(
    Guid EntryId, Category Category, string CodeSystem, string Code, string EncryptedContent,
    DateTimeOffset RecordedAt, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record AmendRecordEntry(
    Guid EntryId, string EncryptedContent, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record RetractRecordEntry(Guid EntryId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

/// <summary>One entry of an <see cref="ImportRecordEntries"/>: what an <see cref="AddRecordEntry"/> carries, less actor and time.</summary>
public sealed record ImportedEntry(
    Guid EntryId, Category Category, string CodeSystem, string Code, string EncryptedContent, DateTimeOffset RecordedAt);

/// <summary>
/// Many entries in one transaction (a FHIR bundle's resources): each judged by the rules of <see cref="AddRecordEntry"/>;
/// an entry whose id is already on the record is left out, so a command sent again adds nothing.
/// </summary>
public sealed record ImportRecordEntries(IReadOnlyList<ImportedEntry> Entries, Actor Actor, DateTimeOffset At) : IPatientCommand
{
    public const int MaxEntries = 1000;
}
