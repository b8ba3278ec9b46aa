using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>A command on one patient's stream. The actor and time come with it, never from a clock.</summary>
public interface IPatientCommand : IDomainCommand;

/// <summary>An event of the <c>patient-{patientId}</c> stream.</summary>
public interface IPatientEvent : IEvent;

/// <param name="IfAbsent">
/// An import's registration: a patient already registered at the same home hospital is no error but no event, because
/// an imported patient's id is derived from that hospital's own identity of the person (the same id is the same person),
/// so imports of one new patient racing each other all succeed and register them once.
/// </param>
public sealed record RegisterPatient(
    Guid PatientId, string HomeHospital, int BirthYear, Sex Sex, string EncryptedDemographics,
    Actor Actor, DateTimeOffset At, bool IfAbsent = false) : IPatientCommand;

public sealed record CorrectPatientDetails(
    int BirthYear, Sex Sex, string EncryptedDemographics, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record ForgetPatient(Actor Actor, DateTimeOffset At, PatientSignature? Signature = null) : IPatientSigned;

[EventType("patient.registered.v1")]
public sealed record PatientRegistered(
    Guid PatientId, string HomeHospital, int BirthYear, Sex Sex, string EncryptedDemographics) : IPatientEvent;

[EventType("patient.details-corrected.v1")]
public sealed record PatientDetailsCorrected(int BirthYear, Sex Sex, string EncryptedDemographics) : IPatientEvent;

/// <summary>The patient's data key was destroyed; encrypted content is unreadable from now on.</summary>
[EventType("patient.forgotten.v1")]
public sealed record PatientForgotten(DateTimeOffset ForgottenAt) : IPatientEvent;

public sealed partial class PatientDecider : IDecider<PatientState, IPatientCommand, IPatientEvent>
{
    private PatientDecider() { }

    public static PatientState Initial => PatientState.Empty;

    public static IReadOnlyList<IPatientEvent> Decide(IPatientCommand command, PatientState state)
    {
        // Forgotten first: even registration must not resurrect a forgotten patient.
        if (state.Forgotten)
            throw RejectedException.Conflict("patient-forgotten", "The patient has been forgotten; no further commands are accepted.");
        if (command is RegisterPatient register)
            return Register(register, state);
        if (!state.Registered)
            throw RejectedException.NotFound("patient-not-found", "The patient is not registered.");
        // A patient acts on their own record only, vouched for by their home hospital: an endorser deciding this
        // stream cannot see whether another stream's patient exists, so nothing a "patient" asks of someone else's
        // record is even recorded — it could be any member's invention.
        if (command.Actor.Role == Role.Patient && !state.IsThePatient(command.Actor))
            throw RejectedException.Forbidden("not-the-patient", "A patient acts only on their own record, through their home hospital.");

        var events = command switch
        {
            CorrectPatientDetails c => CorrectDetails(c, state),
            AddRecordEntry c => AddEntry(c, state),
            ImportRecordEntries c => ImportEntries(c, state),
            AmendRecordEntry c => AmendEntry(c, state),
            RetractRecordEntry c => RetractEntry(c, state),
            GrantConsent c => Grant(c, state),
            RevokeConsent c => Revoke(c, state),
            NarrowConsent c => Narrow(c, state),
            RequestAccess c => Request(c, state),
            ExplainAccess c => ExplainTo(c, state),
            UseEmergencyAccess c => BreakGlass(c),
            LinkInsurance c => Link(c, state),
            ImportInsurance c => LinkImported(c, state),
            EndInsurance c => End(c, state),
            ForgetPatient c => Forget(c, state),
            EnrolDeviceKey c => Enrol(c, state),
            _ => throw new ArgumentException($"Unknown patient command {command.GetType().Name}.", nameof(command)),
        };
        // Judged by its own rules first (who may, what exists), then by the patient's signature.
        return command is IPatientSigned signed ? Countersign(signed, state, events) : events;
    }

    public static PatientState Evolve(PatientState state, IPatientEvent @event) => @event switch
    {
        PatientRegistered e => state with { Registered = true, PatientId = e.PatientId, HomeHospital = e.HomeHospital },
        PatientDetailsCorrected => state,
        RecordEntryAdded e => state with
        {
            Entries = state.Entries.SetItem(e.EntryId, new EntryState(e.Category, e.AuthorHospital, Retracted: false)),
        },
        RecordEntryAmended e => state.Entries.TryGetValue(e.EntryId, out var amended)
            ? state with { Entries = state.Entries.SetItem(e.EntryId, amended with { Revision = amended.Revision + 1 }) }
            : state,
        RecordEntryRetracted e => state.Entries.TryGetValue(e.EntryId, out var entry)
            ? state with { Entries = state.Entries.SetItem(e.EntryId, entry with { Retracted = true }) }
            : state,
        ConsentGranted e => state with { Consents = state.Consents.SetItem(e.ConsentId, ConsentRule.From(e)) },
        ConsentRevoked e => state.Consents.TryGetValue(e.ConsentId, out var consent)
            ? state with { Consents = state.Consents.SetItem(e.ConsentId, consent with { Revoked = true }) }
            : state,
        ConsentNarrowed e => state.Consents.TryGetValue(e.ConsentId, out var narrowed)
            ? state with
            {
                Consents = state.Consents.SetItem(e.ConsentId, narrowed with
                {
                    Categories = [.. e.Categories], Purposes = [.. e.Purposes], Actions = [.. e.Actions], ValidUntil = e.ValidUntil,
                }),
            }
            : state,
        AccessGranted or AccessDenied or EmergencyAccessUsed or AccessExplained => state,
        InsuranceLinked e => state with { Insurance = new InsurancePeriod(e.Insurer, e.ValidFrom, e.ValidUntil, EndedAt: null, e.PolicyReferenceHash) },
        InsuranceEnded e => state.Insurance is { } period ? state with { Insurance = period with { EndedAt = e.EndedAt } } : state,
        PatientForgotten => state with { Forgotten = true },
        DeviceKeyEnrolled e => state with { DeviceKey = new DeviceKey(e.KeyId, e.PublicKey) },
        DeviceKeyReplaced e => state with { DeviceKey = new DeviceKey(e.KeyId, e.PublicKey) },
        SignedByPatient => state,
        _ => throw new ArgumentException($"Unknown patient event {@event.GetType().Name}.", nameof(@event)),
    };

    private static IReadOnlyList<IPatientEvent> Forget(ForgetPatient command, PatientState state)
    {
        RequireThePatient(command.Actor, state, "Only the patient may ask to be forgotten.");
        return [new PatientForgotten(command.At)];
    }

    private static void RequireThePatient(Actor actor, PatientState state, string message)
    {
        if (!state.IsThePatient(actor))
            throw RejectedException.Forbidden("not-the-patient", message);
    }

    private static bool IsBlank(string? text) => string.IsNullOrWhiteSpace(text);
}
