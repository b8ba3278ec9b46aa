using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Telemetry;

// The bounded vocabularies of healthevents.outcome (README, "Observability"): constants only, never data.

/// <summary>
/// A command's outcome: accepted; denied (recorded, answered with a refusal); refused (nothing recorded: the problem
/// code the caller gets); failed (nothing recorded, not the caller's doing: the exception's type name or a code).
/// </summary>
public static class CommandOutcome
{
    public const string Accepted = "accepted";
    public const string Denied = "denied";
    public const string Refused = "refused";
    public const string Failed = "failed";

    /// <summary>The outcome and its code for an exception the command ended with (codes as in the problem details' <c>code</c>).</summary>
    public static (string Outcome, string Code) Of(Exception e) => e switch
    {
        ValidationException => (Refused, "invalid-command"),
        RejectedException r => (Refused, r.Rejection.Code),
        PatientForgottenException => (Refused, "patient-forgotten"),
        DuplicateEventIdException => (Refused, "command-already-applied"),
        ConcurrencyConflictException => (Refused, "concurrency-conflict"),
        StreamBusyException => (Failed, "stream-busy"),
        EndorsementPolicyNotMetException => (Failed, "endorsement-policy-not-met"),
        OperationCanceledException => (Failed, "cancelled"),
        _ => (Failed, e.GetType().FullName ?? e.GetType().Name),
    };
}

/// <summary>The outcomes of one endorser call (<c>endorse</c> spans, <c>healthevents.endorsement.duration</c>) and of an endorser's judgement.</summary>
public static class EndorseOutcome
{
    public const string Signed = "signed";
    public const string Refused = "refused";
    public const string Stale = "stale";
    public const string Timeout = "timeout";
    public const string Unreachable = "unreachable";
    public const string Cancelled = "cancelled";

    /// <summary>What an endorser's reply to a batch says: signed (some or all of it), stale (every transaction refused because its stream had moved past it) or refused.</summary>
    public static string Of(EndorsementBatchReply reply) =>
        reply.Signature is not null ? Signed : reply.Transactions is { Count: > 0 } all && all.All(t => t.Stale) ? Stale : Refused;

    /// <summary>What an endorser said of one transaction: signed (accepted), stale or refused.</summary>
    public static string Of(EndorsementVerdict verdict) => verdict.Accepted ? Signed : verdict.Stale ? Stale : Refused;
}

/// <summary>
/// An <c>append</c> span's <c>healthevents.outcome</c>: appended (the attempt wrote), or conflict (another command wrote
/// to the stream first, so this attempt wrote nothing; the span's status is then Error). A command that conflicted has
/// one <c>decide</c>, <c>endorse</c> and <c>append</c> per attempt.
/// </summary>
public static class AppendOutcome
{
    public const string Appended = "appended";
    public const string Conflict = "conflict";
}
