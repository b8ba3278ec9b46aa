using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record AddRecordEntry(
    Guid EntryId, Category Category, string CodeSystem, string Code, string EncryptedContent,
    DateTimeOffset RecordedAt, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record AmendRecordEntry(
    Guid EntryId, string EncryptedContent, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record RetractRecordEntry(Guid EntryId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;
