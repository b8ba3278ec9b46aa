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
    DateTimeOffset At) : IPatientCommand;

public sealed record RevokeConsent(Guid ConsentId, Actor Actor, DateTimeOffset At) : IPatientCommand;

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

public sealed partial class PatientDecider
{
    private static IReadOnlyList<IPatientEvent> Grant(GrantConsent command, PatientState state)
    {
        RequireThePatient(command.Actor, state, "Only the patient may grant consent.");
        if (command.Categories.Count == 0)
            throw RejectedException.Invalid("categories-required", "A consent names at least one category.");
        if (command.Purposes.Count == 0)
            throw RejectedException.Invalid("purposes-required", "A consent names at least one purpose.");
        if (command.Actions.Count == 0)
            throw RejectedException.Invalid("actions-required", "A consent names at least one action.");
        RequireValidGrantee(command.Grantee);
        if (command.ValidUntil is { } until && until <= command.ValidFrom)
            throw RejectedException.Invalid("validity-period-invalid", "A consent must end after it starts.");
        if (state.Consents.ContainsKey(command.ConsentId))
            throw RejectedException.Conflict("consent-exists", "A consent with this id already exists.");

        return [new ConsentGranted(
            command.ConsentId, command.Grantee, [.. command.Categories], [.. command.Purposes], [.. command.Actions],
            command.ValidFrom, command.ValidUntil)];
    }

    private static IReadOnlyList<IPatientEvent> Revoke(RevokeConsent command, PatientState state)
    {
        RequireThePatient(command.Actor, state, "Only the patient may revoke consent.");
        if (!state.Consents.TryGetValue(command.ConsentId, out var consent))
            throw RejectedException.NotFound("consent-not-found", "The consent does not exist.");
        if (consent.Revoked)
            throw RejectedException.Conflict("consent-already-revoked", "The consent is already revoked.");

        return [new ConsentRevoked(command.ConsentId)];
    }

    private static void RequireValidGrantee(Grantee grantee)
    {
        if (!Enum.IsDefined(grantee.Kind))
            throw RejectedException.Invalid("grantee-kind-invalid", "The grantee kind is not known.");
        if (IsBlank(grantee.Id))
            throw RejectedException.Invalid("grantee-required", "A consent names its grantee.");
        // A grant to the role "patient" would open the record to every patient.
        if (grantee.Kind == GranteeKind.Role
            && (!KebabCase.TryParse<Role>(grantee.Id, out var role) || role == Role.Patient))
            throw RejectedException.Invalid("grantee-role-invalid", "A role grantee names a known staff or researcher role.");
    }
}
