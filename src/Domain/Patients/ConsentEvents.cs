using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

[EventType("consent.granted.v1")]
public sealed record ConsentGranted(
    Guid ConsentId,
    Grantee Grantee,
    IReadOnlyList<Category> Categories,
    IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<AccessAction> Actions,
    DateTimeOffset ValidFrom,
    DateTimeOffset? ValidUntil) : IPatientEvent;

[EventType("consent.revoked.v1")]
public sealed record ConsentRevoked(Guid ConsentId) : IPatientEvent;
