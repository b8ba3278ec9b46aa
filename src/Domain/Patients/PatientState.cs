using System.Collections.Immutable;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>
/// Only what decisions need. Accesses, amendments and demographics are not kept, so the state
/// stays small however long the stream grows.
/// </summary>
public sealed record PatientState(
    bool Registered,
    Guid PatientId,
    string HomeHospital,
    bool Forgotten,
    ImmutableDictionary<Guid, EntryState> Entries,
    ImmutableDictionary<Guid, ConsentRule> Consents,
    InsurancePeriod? Insurance) : IHasHomeHospital
{
    /// <summary>The patient's enrolled device key, whose signature their consent changes and forgetting need; null before the first enrolment.</summary>
    public DeviceKey? DeviceKey { get; init; }

    public static readonly PatientState Empty = new(
        Registered: false,
        PatientId: Guid.Empty,
        HomeHospital: "",
        Forgotten: false,
        Entries: ImmutableDictionary<Guid, EntryState>.Empty,
        Consents: ImmutableDictionary<Guid, ConsentRule>.Empty,
        Insurance: null);

    /// <summary>
    /// Whether <paramref name="actor"/> speaks as this patient: the patient's own id, vouched for by the home
    /// hospital (the credential's hospital). Another member cannot speak for someone it does not represent.
    /// </summary>
    public bool IsThePatient(Actor actor) =>
        Registered && actor.IsPatient(PatientId) && string.Equals(actor.Hospital, HomeHospital, StringComparison.Ordinal);

    /// <summary>
    /// Who reads the patient's consents: the patient, and staff named by one of their active consents. Researchers
    /// never do, though a research consent names their role: they see aggregates, never a person.
    /// </summary>
    public bool MayReadConsents(Actor actor, DateTimeOffset at) =>
        IsThePatient(actor) || (Registered && actor.IsPractitioner && Consents.Values.Any(c => c.IsActiveAt(at) && c.Grantee.Matches(actor)));

    /// <summary>Linked, not ended, and not yet expired at <paramref name="at"/>: the one that can be ended.</summary>
    public bool HasCurrentInsurance(DateTimeOffset at) => Insurance is { EndedAt: null } period && at < period.ValidUntil;
}

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

public enum GranteeKind { Practitioner, Hospital, Role }

/// <summary>Who a consent is for. For <see cref="GranteeKind.Role"/> the id is the kebab-case role name ("home-care").</summary>
public sealed record Grantee(GranteeKind Kind, string Id)
{
    public static Grantee Practitioner(string id) => new(GranteeKind.Practitioner, id);
    public static Grantee Hospital(string id) => new(GranteeKind.Hospital, id);
    public static Grantee OfRole(Role role) => new(GranteeKind.Role, KebabCase.Of(role));

    // Practitioner and hospital grants are for staff: a patient or researcher who happens to carry
    // the same id or hospital claim is not the grantee.
    /// <summary>
    /// Whether this grant names a researcher: the researcher role, the researcher's own id (kind practitioner) or their
    /// organisation (kind hospital). Researchers never act under a grant (they see aggregates); grants name them for
    /// research projections and the uses endorsers check.
    /// </summary>
    public bool NamesResearcher(string researcherId, string? organisation) => Kind switch
    {
        GranteeKind.Role => string.Equals(Id, KebabCase.Of(Role.Researcher), StringComparison.Ordinal),
        GranteeKind.Practitioner => string.Equals(Id, researcherId, StringComparison.Ordinal),
        GranteeKind.Hospital => organisation is not null && string.Equals(Id, organisation, StringComparison.Ordinal),
        _ => false,
    };

    public bool Matches(Actor actor) => Kind switch
    {
        GranteeKind.Practitioner => actor.IsPractitioner && string.Equals(actor.Id, Id, StringComparison.Ordinal),
        GranteeKind.Hospital => actor.IsPractitioner && string.Equals(actor.Hospital, Id, StringComparison.Ordinal),
        GranteeKind.Role => string.Equals(KebabCase.Of(actor.Role), Id, StringComparison.Ordinal),
        _ => false,
    };
}

/// <summary>An entry as decisions see it; <see cref="Revision"/> counts its amendments (0: as added).</summary>
public sealed record EntryState(Category Category, string AuthorHospital, bool Retracted, int Revision = 0);

/// <summary>The patient's insurance as linked: ValidFrom inclusive; ValidUntil and EndedAt exclusive.</summary>
public sealed record InsurancePeriod(
    string Insurer, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil, DateTimeOffset? EndedAt, string PolicyReferenceHash = "");
