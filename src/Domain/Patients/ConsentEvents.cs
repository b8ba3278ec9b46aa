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

/// <summary>
/// A consent narrowed by the patient: what it grants from now on, whole (its grantee and start are unchanged; the
/// grantee is repeated so the event reads on its own). Every list is a subset of the one before, in the same order.
/// </summary>
[EventType("consent.narrowed.v1")]
public sealed record ConsentNarrowed(
    Guid ConsentId,
    Grantee Grantee,
    IReadOnlyList<Category> Categories,
    IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<AccessAction> Actions,
    DateTimeOffset? ValidUntil) : IPatientEvent;
