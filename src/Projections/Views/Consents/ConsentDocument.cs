using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Projections.Views.Consents;

/// <summary>One consent of a patient, as granted or last narrowed, and when (if) it was revoked.</summary>
public sealed record ConsentDocument
{
    /// <summary>The consent id (the document id).</summary>
    public Guid Id { get; init; }

    public Guid ConsentId { get; init; }
    public Guid PatientId { get; init; }
    public Grantee Grantee { get; init; } = new(GranteeKind.Practitioner, "");
    public IReadOnlyList<Category> Categories { get; init; } = [];
    public IReadOnlyList<Purpose> Purposes { get; init; } = [];
    public IReadOnlyList<AccessAction> Actions { get; init; } = [];

    /// <summary>Inclusive.</summary>
    public DateTimeOffset ValidFrom { get; init; }

    /// <summary>Exclusive; open-ended when null.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    public DateTimeOffset GrantedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>When the patient last narrowed it (categories, purposes, actions and end are then the narrowed ones).</summary>
    public DateTimeOffset? NarrowedAt { get; init; }

    public bool Revoked => RevokedAt is not null;

    /// <summary>Active: not revoked, started and not expired (same rule as the domain's ConsentRule).</summary>
    public bool IsActiveAt(DateTimeOffset at) => !Revoked && ValidFrom <= at && (ValidUntil is not { } until || at < until);

    /// <summary>Not revoked and not started yet.</summary>
    public bool IsUpcomingAt(DateTimeOffset at) => !Revoked && at < ValidFrom;
}
