using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

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
