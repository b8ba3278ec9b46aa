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
