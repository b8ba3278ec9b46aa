using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record GrantConsent(
    Guid ConsentId,
    Grantee Grantee,
    IReadOnlyList<Category> Categories,
    IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<AccessAction> Actions,
    DateTimeOffset ValidFrom,
    DateTimeOffset? ValidUntil,
    Actor Actor,
    DateTimeOffset At,
    PatientSignature? Signature = null) : IPatientSigned;

public sealed record RevokeConsent(Guid ConsentId, Actor Actor, DateTimeOffset At, PatientSignature? Signature = null) : IPatientSigned;

/// <summary>
/// The patient narrows a consent of theirs: each part given (null keeps it) must keep a subset of what the consent
/// grants — fewer categories, purposes or actions — or end it earlier. Anything wider, or nothing narrower, is refused.
/// </summary>
/// <param name="ValidUntil">The new end (exclusive): before the consent's current end (any, when it has none), after its start and after <paramref name="At"/>.</param>
public sealed record NarrowConsent(
    Guid ConsentId,
    IReadOnlyList<Category>? Categories,
    IReadOnlyList<Purpose>? Purposes,
    IReadOnlyList<AccessAction>? Actions,
    DateTimeOffset? ValidUntil,
    Actor Actor,
    DateTimeOffset At,
    PatientSignature? Signature = null) : IPatientSigned;
