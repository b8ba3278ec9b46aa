using System.Diagnostics;
using System.Diagnostics.Metrics;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using static HealthEvents.Application.Telemetry.HealthEventsTelemetry;

namespace HealthEvents.Application.Telemetry;

/// <summary>
/// One span and one set of measurements per command, whoever starts it: the Mediator pipeline for the commands callers
/// send (<see cref="CommandTelemetryBehavior{TMessage,TResponse}"/>), the command path itself for those a node issues on
/// its own (tree heads, founding). Metrics (meter <see cref="HealthEventsTelemetry.CommandMeterName"/>):
/// <c>healthevents.commands</c> ({command}) and <c>healthevents.command.duration</c> (s) by command type and outcome,
/// <c>healthevents.command.refusals</c> ({refusal}) by command type and problem code (<c>error.type</c>),
/// <c>healthevents.endorsement.duration</c> (s) by hospital and outcome.
/// </summary>
public sealed class CommandTelemetry
{
    // Set for the rest of a command's flow once a span is open for it: the command path then opens no second one.
    private static readonly AsyncLocal<bool> InCommand = new();

    private readonly Counter<long> _commands;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _endorsement;

    public CommandTelemetry(IMeterFactory meters, ServiceInstance instance)
    {
        var meter = CreateMeter(meters, CommandMeterName, instance);
        _commands = meter.CreateCounter<long>("healthevents.commands", "{command}", "Commands handled, by type and outcome");
        _duration = meter.CreateHistogram("healthevents.command.duration", "s",
            "Time from receiving a command to its answer (validation, decision, endorsement, append)", advice: DurationAdvice);
        _refusals = meter.CreateCounter<long>("healthevents.command.refusals", "{refusal}",
            "Commands refused or denied, by type and problem code (error.type)");
        _endorsement = meter.CreateHistogram("healthevents.endorsement.duration", "s",
            "Time one endorser took to answer a proposal, by hospital and outcome", advice: DurationAdvice);
    }

    /// <summary>
    /// Opens the command's span and starts its clock; null when the flow is already inside a command (its span is the
    /// parent of what follows). <paramref name="type"/> is a type name (no data).
    /// </summary>
    public CommandRun? Begin(string type, CommandContext? context)
    {
        if (InCommand.Value) return null;
        InCommand.Value = true;
        var span = Source.StartActivity("command " + type);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(Tags.Command, type);
            if (context is not null)
            {
                span.SetTag(Tags.CorrelationId, context.CorrelationId.ToString());
                span.SetTag(Tags.CommandId, context.CommandId.ToString());
                span.SetTag(Tags.ActorRole, KebabCase.Of(context.Actor.Role));
                span.SetTag(Tags.ActorHospital, context.Actor.Hospital);
            }
        }
        return new CommandRun(this, type, span);
    }

    /// <summary>The span of one endorser call (hospital ids are the network's public member names).</summary>
    public static Activity? StartEndorse(string hospitalId)
    {
        var span = Source.StartActivity("endorse", ActivityKind.Client);
        span?.SetTag(Tags.Hospital, hospitalId);
        return span;
    }

    /// <summary>Records an endorser call: <paramref name="outcome"/> is signed, refused, timeout, unreachable or cancelled (not needed any more).</summary>
    public void Endorsed(string hospitalId, string outcome, TimeSpan elapsed, Activity? span)
    {
        _endorsement.Record(elapsed.TotalSeconds, new(Tags.Hospital, hospitalId), new(Tags.Outcome, outcome));
        span?.SetTag(Tags.Outcome, outcome);
    }

    internal void Ended(string type, string outcome, string? code, TimeSpan elapsed)
    {
        InCommand.Value = false;
        KeyValuePair<string, object?> command = new(Tags.Command, type), result = new(Tags.Outcome, outcome);
        _commands.Add(1, command, result);
        _duration.Record(elapsed.TotalSeconds, command, result);
        if (code is not null) _refusals.Add(1, command, new(Tags.ErrorType, code));
    }
}

/// <summary>A command under way: ends with <see cref="Accepted"/>, <see cref="Denied"/> or <see cref="Failed"/> (else it counts as failed).</summary>
public sealed class CommandRun(CommandTelemetry telemetry, string type, Activity? span) : IDisposable
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private bool _ended;

    /// <summary>Recorded as asked.</summary>
    public void Accepted() => End(CommandOutcome.Accepted, null);

    /// <summary>Recorded, and the answer is a refusal (an access denied by the patient's consents): counted as a refusal too.</summary>
    public void Denied(string code) => End(CommandOutcome.Denied, code);

    /// <summary>Nothing recorded: refused (a problem code) or failed (the exception's type).</summary>
    public void Failed(Exception e)
    {
        var (outcome, code) = CommandOutcome.Of(e);
        End(outcome, code);
    }

    private void End(string outcome, string? code)
    {
        if (_ended) return;
        _ended = true;
        if (span is not null)
        {
            span.SetTag(Tags.Outcome, outcome);
            if (code is not null) span.SetTag(Tags.ErrorType, code);
            if (outcome == CommandOutcome.Failed) span.SetStatus(ActivityStatusCode.Error);
        }
        telemetry.Ended(type, outcome, outcome == CommandOutcome.Failed ? null : code, Stopwatch.GetElapsedTime(_started));
    }

    public void Dispose()
    {
        if (!_ended) End(CommandOutcome.Failed, "cancelled");
        span?.Dispose();
    }
}

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
        EndorsementPolicyNotMetException => (Failed, "endorsement-policy-not-met"),
        OperationCanceledException => (Failed, "cancelled"),
        _ => (Failed, e.GetType().FullName ?? e.GetType().Name),
    };
}
