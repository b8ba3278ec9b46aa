using System.Collections.Immutable;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record ConsentRule(
    Grantee Grantee,
    ImmutableArray<Category> Categories,
    ImmutableArray<Purpose> Purposes,
    ImmutableArray<AccessAction> Actions,
    DateTimeOffset ValidFrom,
    DateTimeOffset? ValidUntil,
    bool Revoked)
{
    public static ConsentRule From(ConsentGranted granted) => new(
        granted.Grantee,
        [.. granted.Categories],
        [.. granted.Purposes],
        [.. granted.Actions],
        granted.ValidFrom,
        granted.ValidUntil,
        Revoked: false);

    /// <summary>ValidFrom inclusive, ValidUntil exclusive, open-ended when absent.</summary>
    public bool IsActiveAt(DateTimeOffset at) =>
        !Revoked && ValidFrom <= at && (ValidUntil is not { } until || at < until);

    public bool Allows(Actor actor, Purpose purpose, AccessAction action, DateTimeOffset at) =>
        IsActiveAt(at) && Grantee.Matches(actor) && Purposes.Contains(purpose) && Actions.Contains(action);
}
