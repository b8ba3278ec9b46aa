using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

[EventType("access.granted.v1")]
public sealed record AccessGranted(
    Guid AccessId,
    Actor Actor,
    Purpose Purpose,
    IReadOnlyList<Category> CategoriesRequested,
    IReadOnlyList<Category> CategoriesReleased,
    IReadOnlyList<Guid> ConsentIds) : IPatientEvent;

/// <summary>Recorded rather than rejected, so the patient sees every attempt.</summary>
[EventType("access.denied.v1")]
public sealed record AccessDenied(
    Guid AccessId,
    Actor Actor,
    Purpose Purpose,
    IReadOnlyList<Category> CategoriesRequested,
    string Reason) : IPatientEvent;

/// <summary>Break-glass: released without consent, and shown prominently in the patient's audit view.</summary>
[EventType("access.emergency-used.v1")]
public sealed record EmergencyAccessUsed(
    Guid AccessId, Actor Actor, string Reason, IReadOnlyList<Category> CategoriesReleased) : IPatientEvent;

/// <summary>
/// A practitioner was told what they could have: <see cref="CategoriesReleased"/> under <see cref="ConsentIds"/>, and
/// <see cref="Reason"/> for what they could not (null when everything asked would be released). Nothing was released.
/// </summary>
[EventType("access.explained.v1")]
public sealed record AccessExplained(
    Guid ExplanationId,
    Actor Actor,
    Purpose Purpose,
    IReadOnlyList<Category> CategoriesRequested,
    IReadOnlyList<Category> CategoriesReleased,
    IReadOnlyList<Guid> ConsentIds,
    string? Reason) : IPatientEvent;
