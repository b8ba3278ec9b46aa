namespace HealthEvents.Domain.Common;

public static class ActorRules
{
    /// <summary>Practitioners who document care. Admins are practitioners but write no clinical entries.</summary>
    public static bool IsClinician(this Actor actor) => actor.IsPractitioner && actor.Role != Role.Admin;

    // Defined through Actor.IsPractitioner so the list of practitioner roles lives in one place.
    public static bool IsPractitionerRole(this Role role) => new Actor("", role, "").IsPractitioner;
}
