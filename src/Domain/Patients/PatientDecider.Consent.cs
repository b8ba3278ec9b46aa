using System.Collections.Immutable;
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
        if (ExistingConsent(command.ConsentId, state).Revoked)
            throw RejectedException.Conflict("consent-already-revoked", "The consent is already revoked.");

        return [new ConsentRevoked(command.ConsentId)];
    }

    /// <summary>
    /// Narrowing never widens: each part kept is a subset of the consent's, an end only earlier (and still ahead and
    /// after the start), and something must be narrower than before. What remains is kept in the consent's own order,
    /// so every endorser derives the same event whatever order the patient named things in.
    /// </summary>
    private static IReadOnlyList<IPatientEvent> Narrow(NarrowConsent command, PatientState state)
    {
        RequireThePatient(command.Actor, state, "Only the patient may narrow consent.");
        var consent = ExistingConsent(command.ConsentId, state);
        if (consent.Revoked)
            throw RejectedException.Conflict("consent-revoked", "The consent is revoked; there is nothing left to narrow.");
        if (consent.ValidUntil is { } ended && ended <= command.At)
            throw RejectedException.Conflict("consent-ended", "The consent has ended; there is nothing left to narrow.");

        var categories = Keep(consent.Categories, command.Categories, "categories");
        var purposes = Keep(consent.Purposes, command.Purposes, "purposes");
        var actions = Keep(consent.Actions, command.Actions, "actions");
        if (command.ValidUntil is { } end)
        {
            if (consent.ValidUntil is { } current && end > current)
                throw RejectedException.Invalid("narrowing-widens", "A narrowing can only end the consent earlier, never later.");
            if (end <= command.At)
                throw RejectedException.Invalid("validity-end-past", "A narrowed consent must still end in the future; to end it now, revoke it.");
            if (end <= consent.ValidFrom)
                throw RejectedException.Invalid("validity-period-invalid", "A consent must end after it starts.");
        }
        var until = command.ValidUntil ?? consent.ValidUntil;
        if (categories.Length == consent.Categories.Length && purposes.Length == consent.Purposes.Length
            && actions.Length == consent.Actions.Length && until == consent.ValidUntil)
            throw RejectedException.Invalid("narrowing-unchanged",
                "The narrowing keeps everything the consent grants, until the same end; nothing would change.");

        return [new ConsentNarrowed(command.ConsentId, consent.Grantee, [.. categories], [.. purposes], [.. actions], until)];
    }

    private static ConsentRule ExistingConsent(Guid consentId, PatientState state) =>
        state.Consents.TryGetValue(consentId, out var consent)
            ? consent
            : throw RejectedException.NotFound("consent-not-found", "The consent does not exist.");

    /// <summary>The part of <paramref name="granted"/> the patient keeps (all of it when <paramref name="kept"/> is null).</summary>
    private static ImmutableArray<T> Keep<T>(ImmutableArray<T> granted, IReadOnlyList<T>? kept, string field)
    {
        if (kept is null) return granted;
        if (kept.Count == 0)
            throw RejectedException.Invalid($"{field}-required", $"A narrowed consent keeps at least one of its {field}; to withdraw them all, revoke it.");
        if (kept.Any(k => !granted.Contains(k)))
            throw RejectedException.Invalid("narrowing-widens", $"A narrowing keeps some of the consent's {field}; it cannot add any.");
        return [.. granted.Where(kept.Contains)];
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
