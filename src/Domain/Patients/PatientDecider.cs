using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

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
            LinkInsurance c => Link(c),
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
        RecordEntryAmended => state,
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
        InsuranceLinked e => state with { Insurance = new InsurancePeriod(e.Insurer, e.ValidFrom, e.ValidUntil, EndedAt: null) },
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
