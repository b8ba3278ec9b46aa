using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record LinkInsurance(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil,
    Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record EndInsurance(Actor Actor, DateTimeOffset At) : IPatientCommand;

[EventType("insurance.linked.v1")]
public sealed record InsuranceLinked(
    string Insurer, string PolicyReferenceHash, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil) : IPatientEvent;

[EventType("insurance.ended.v1")]
public sealed record InsuranceEnded(DateTimeOffset EndedAt) : IPatientEvent;

public sealed partial class PatientDecider
{
    private static IReadOnlyList<IPatientEvent> Link(LinkInsurance command)
    {
        RequireAdmin(command.Actor, "Only a hospital admin may link insurance.");
        if (IsBlank(command.Insurer))
            throw RejectedException.Invalid("insurer-required", "An insurer is required.");
        if (IsBlank(command.PolicyReferenceHash))
            throw RejectedException.Invalid("policy-reference-required", "A policy reference is required.");
        if (command.ValidUntil <= command.ValidFrom)
            throw RejectedException.Invalid("validity-period-invalid", "Insurance must end after it starts.");

        return [new InsuranceLinked(command.Insurer, command.PolicyReferenceHash, command.ValidFrom, command.ValidUntil)];
    }

    private static IReadOnlyList<IPatientEvent> End(EndInsurance command, PatientState state)
    {
        RequireAdmin(command.Actor, "Only a hospital admin may end insurance.");
        if (!state.HasCurrentInsurance(command.At))
            throw RejectedException.Conflict("no-current-insurance", "The patient has no current insurance to end.");

        return [new InsuranceEnded(command.At)];
    }

    private static void RequireAdmin(Actor actor, string message)
    {
        if (actor.Role != Role.Admin)
            throw RejectedException.Forbidden("admin-required", message);
    }
}
