using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

[EventType("insurance.linked.v1")]
public sealed record InsuranceLinked(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil) : IPatientEvent;

[EventType("insurance.ended.v1")]
public sealed record InsuranceEnded(DateTimeOffset EndedAt) : IPatientEvent;
