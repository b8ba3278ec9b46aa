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

    /// <summary>The insurance period covering <paramref name="at"/>, if any.</summary>
    public InsurancePeriod? InsuranceAt(DateTimeOffset at) => Insurance is { } period && period.Covers(at) ? period : null;

    public bool InsuranceValidAt(DateTimeOffset at) => InsuranceAt(at) is not null;

    /// <summary>Linked, not ended, and not yet expired at <paramref name="at"/>: the one that can be ended.</summary>
    public bool HasCurrentInsurance(DateTimeOffset at) => Insurance is { EndedAt: null } period && at < period.ValidUntil;
}
