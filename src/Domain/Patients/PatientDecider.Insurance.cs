using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record LinkInsurance(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil,
    Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record EndInsurance(Actor Actor, DateTimeOffset At) : IPatientCommand;

/// <summary>
/// The insurance an imported record names (a FHIR Coverage), linked by a clinician of the patient's home hospital: the
/// hospital's own record brought in whole, as its administration keeps it. Linking the same insurance again is no event.
/// </summary>
/// <param name="ValidFrom">Null when the record gives no start: the current link's start if it is the same insurance, else <paramref name="At"/>.</param>
public sealed record ImportInsurance(
    string Insurer, string PolicyReferenceHash, DateTimeOffset? ValidFrom, DateTimeOffset ValidUntil,
    Actor Actor, DateTimeOffset At) : IPatientCommand;

[EventType("insurance.linked.v1")]
public sealed record InsuranceLinked(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil) : IPatientEvent;

[EventType("insurance.ended.v1")]
public sealed record InsuranceEnded(DateTimeOffset EndedAt) : IPatientEvent;

public sealed partial class PatientDecider
{
    private static IReadOnlyList<IPatientEvent> Link(LinkInsurance command, PatientState state)
    {
        RequireHomeAdmin(command.Actor, state, "link");
        return Linked(command.Insurer, command.PolicyReferenceHash, command.ValidFrom, command.ValidUntil);
    }

    private static IReadOnlyList<IPatientEvent> Linked(string insurer, string policyReferenceHash, DateTimeOffset validFrom, DateTimeOffset validUntil)
    {
        if (IsBlank(insurer))
            throw RejectedException.Invalid("insurer-required", "An insurer is required.");
        if (IsBlank(policyReferenceHash))
            throw RejectedException.Invalid("policy-reference-required", "A policy reference is required.");
        if (validUntil <= validFrom)
            throw RejectedException.Invalid("validity-period-invalid", "Insurance must end after it starts.");

        return [new InsuranceLinked(insurer, policyReferenceHash, validFrom, validUntil)];
    }

    private static IReadOnlyList<IPatientEvent> LinkImported(ImportInsurance command, PatientState state)
    {
        if (!command.Actor.IsClinician() || !string.Equals(command.Actor.Hospital, state.HomeHospital, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-home-hospital", "Only a clinician of the home hospital imports the patient's insurance.");
        var same = state.Insurance is { EndedAt: null } current && current.Insurer == command.Insurer
                   && current.PolicyReferenceHash == command.PolicyReferenceHash && current.ValidUntil == command.ValidUntil;
        var from = command.ValidFrom ?? (same ? state.Insurance!.ValidFrom : command.At);
        if (same && state.Insurance!.ValidFrom == from) return [];
        return Linked(command.Insurer, command.PolicyReferenceHash, from, command.ValidUntil);
    }

    private static IReadOnlyList<IPatientEvent> End(EndInsurance command, PatientState state)
    {
        RequireHomeAdmin(command.Actor, state, "end");
        if (!state.HasCurrentInsurance(command.At))
            throw RejectedException.Conflict("no-current-insurance", "The patient has no current insurance to end.");

        return [new InsuranceEnded(command.At)];
    }

    // Insurance is the patient's administrative record, kept by the hospital that represents them: an admin of another
    // member may not link or end it, as no hospital speaks for a patient it does not represent.
    private static void RequireHomeAdmin(Actor actor, PatientState state, string verb)
    {
        if (actor.Role != Role.Admin)
            throw RejectedException.Forbidden("admin-required", $"Only a hospital admin may {verb} insurance.");
        if (!string.Equals(actor.Hospital, state.HomeHospital, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-home-hospital", $"Only an admin of the patient's home hospital may {verb} their insurance.");
    }
}
