using System.Diagnostics.Metrics;
using System.Diagnostics;
using System.Reflection;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using Mediator;
using static HealthEvents.Application.Telemetry.HealthEventsTelemetry;

namespace HealthEvents.Application.Telemetry;

/// <summary>
/// The service's own telemetry names (OpenTelemetry: traces through <see cref="Source"/>, metrics through meters named
/// here). Every attribute is one of <see cref="Tags"/>: hospital ids, command type names, outcome and problem codes,
/// projection names, stream kinds — never a patient id, a name, free text or record content (README, "Observability").
/// </summary>
public static class HealthEventsTelemetry
{
    /// <summary>The ActivitySource of the command path's spans (command, decide, endorse, append, read-your-writes).</summary>
    public const string SourceName = "HealthEvents";

    /// <summary>The meter of the command path: commands, their duration, refusals, endorsement calls.</summary>
    public const string CommandMeterName = "HealthEvents.Commands";

    public static readonly string Version =
        typeof(HealthEventsTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static readonly ActivitySource Source = new(SourceName, Version);

    /// <summary>
    /// A meter of this node: tagged with the node's <c>service.instance.id</c> (an OpenTelemetry instrumentation-scope
    /// attribute), so two nodes in one process — the tests run many — keep apart series that share names. The factory
    /// owns it: disposed with the host's services.
    /// </summary>
    public static Meter CreateMeter(IMeterFactory factory, string name, ServiceInstance instance) =>
        factory.Create(new MeterOptions(name) { Version = Version, Tags = [new(Tags.ServiceInstance, instance.Id)] });

    /// <summary>
    /// Histogram buckets in seconds for durations of a few milliseconds to tens of seconds (OpenTelemetry's advice for
    /// <c>http.server.request.duration</c>, semantic conventions "HTTP metrics").
    /// </summary>
    public static readonly InstrumentAdvice<double> DurationAdvice = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    };

    /// <summary>The kind of a stream, safe as an attribute (a patient stream's id holds the patient id).</summary>
    public static string StreamKind(string streamId) =>
        streamId.IndexOf('-') is var dash and > 0 ? streamId[..dash] : streamId;

    /// <summary>Attribute names: OpenTelemetry's where one exists (<c>error.type</c>), else <c>healthevents.*</c>.</summary>
    public static class Tags
    {
        public const string ServiceInstance = "service.instance.id";
        public const string ErrorType = "error.type";
        public const string Command = "healthevents.command";
        public const string Outcome = "healthevents.outcome";
        public const string CorrelationId = "healthevents.correlation_id";
        public const string CommandId = "healthevents.command_id";
        public const string ActorRole = "healthevents.actor.role";
        public const string ActorHospital = "healthevents.actor.hospital";
        public const string Hospital = "healthevents.hospital";
        public const string StreamKind = "healthevents.stream.kind";
        public const string Events = "healthevents.events";
        public const string BatchSize = "healthevents.endorsement.batch_size";
        public const string Projection = "healthevents.projection";
        public const string CaughtUp = "healthevents.caught_up";
    }
}

/// <summary>This node's <c>service.instance.id</c> (OpenTelemetry resource semantic conventions): new at every start.</summary>
public sealed record ServiceInstance(string Id)
{
    public static ServiceInstance New() => new(Guid.NewGuid().ToString());
}

/// <summary>
/// One span and one set of measurements per command, whoever starts it: the Mediator pipeline for the commands callers
/// send (<see cref="CommandTelemetryBehavior{TMessage,TResponse}"/>), the command path itself for those a node issues on
/// its own (tree heads, founding). Metrics (meter <see cref="HealthEventsTelemetry.CommandMeterName"/>):
/// <c>healthevents.commands</c> ({command}) and <c>healthevents.command.duration</c> (s) by command type and outcome,
/// <c>healthevents.command.refusals</c> ({refusal}) by command type and problem code (<c>error.type</c>),
/// <c>healthevents.endorsement.duration</c> (s) by hospital and outcome, <c>healthevents.endorsement.batch.size</c>
/// ({transaction}) per endorsement round (proposals sent to the endorsers together); on an endorser node,
/// <c>healthevents.endorser.proposals</c> ({proposal}, one per transaction judged) and <c>healthevents.endorser.duration</c>
/// (s, per request) by its hospital and outcome.
/// </summary>
public sealed class CommandTelemetry
{
    // Set for the rest of a command's flow once a span is open for it: the command path then opens no second one.
    private static readonly AsyncLocal<bool> InCommand = new();

    private readonly Counter<long> _commands;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _endorsement;
    private readonly Counter<long> _judged;
    private readonly Histogram<double> _judging;
    private readonly Histogram<int> _batchSize;

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
        _judged = meter.CreateCounter<long>("healthevents.endorser.proposals", "{proposal}",
            "Proposals this node's endorser judged, by its hospital and outcome (signed, refused, stale)");
        _judging = meter.CreateHistogram("healthevents.endorser.duration", "s",
            "Time this node's endorser took to judge a proposal (re-execution and signing), by its hospital and outcome", advice: DurationAdvice);
        _batchSize = meter.CreateHistogram<int>("healthevents.endorsement.batch.size", "{transaction}",
            "Proposals sent to the endorsers together in one round", advice: new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
    }

    /// <summary>Records a batch this node's endorser judged (an endorser node's <c>POST /endorse</c>): each transaction's verdict, and the request's time.</summary>
    public void Judged(string hospitalId, EndorsementBatchReply reply, TimeSpan elapsed)
    {
        KeyValuePair<string, object?> hospital = new(Tags.Hospital, hospitalId);
        foreach (var verdict in reply.Transactions)
            _judged.Add(1, hospital, new(Tags.Outcome, EndorseOutcome.Of(verdict)));
        var outcome = EndorseOutcome.Of(reply);
        _judging.Record(elapsed.TotalSeconds, hospital, new(Tags.Outcome, outcome));
        Activity.Current?.SetTag(Tags.Outcome, outcome);
    }

    /// <summary>Records one endorsement round of <paramref name="size"/> proposals.</summary>
    public void EndorsementRound(int size) => _batchSize.Record(size);

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
    public static Activity? StartEndorse(string hospitalId, int batchSize = 1)
    {
        var span = Source.StartActivity("endorse", ActivityKind.Client);
        span?.SetTag(Tags.Hospital, hospitalId);
        span?.SetTag(Tags.BatchSize, batchSize);
        return span;
    }

    /// <summary>An endorser call about to be cancelled because the round is decided: its outcome is <c>cancelled</c> from now on.</summary>
    public static void Cancelling(Activity span) => span.SetTag(Tags.Outcome, EndorseOutcome.Cancelled);

    /// <summary>
    /// Records an endorser call: <paramref name="outcome"/> is one of <see cref="EndorseOutcome"/>: signed, refused, stale
    /// (refused because the stream moved past the proposal: the submitter decides again), timeout, unreachable or
    /// cancelled (not needed any more).
    /// </summary>
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

/// <summary>A command under way: ends with <see cref="Accepted"/>, <see cref="Denied"/>, <see cref="Refused"/> or <see cref="Failed"/> (else it counts as failed).</summary>
public sealed class CommandRun(CommandTelemetry telemetry, string type, Activity? span) : IDisposable
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private bool _ended;

    /// <summary>Recorded as asked.</summary>
    public void Accepted() => End(CommandOutcome.Accepted, null);

    /// <summary>Recorded, and the answer is a refusal (an access denied by the patient's consents): counted as a refusal too.</summary>
    public void Denied(string code) => End(CommandOutcome.Denied, code);

    /// <summary>Nothing recorded: refused before the command reached its handler, with this problem code (a constant, no data).</summary>
    public void Refused(string code) => End(CommandOutcome.Refused, code);

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
/// The outermost step of the command pipeline: the command's span and measurements around validation and the handler,
/// so a command refused by its validators counts as refused too. The type is the message's name without its
/// <c>Command</c> suffix (<c>GrantConsent</c>); a recorded denial of access counts as <c>denied</c>, code <c>access-denied</c>.
/// </summary>
public sealed class CommandTelemetryBehavior<TMessage, TResponse>(CommandTelemetry telemetry) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    private static readonly string Name = typeof(TMessage).Name.EndsWith("Command", StringComparison.Ordinal)
        ? typeof(TMessage).Name[..^"Command".Length]
        : typeof(TMessage).Name;

    // Every command message carries its context as a property named Context (the correlation id, the actor's role).
    private static readonly PropertyInfo? Context = typeof(TMessage).GetProperty("Context", typeof(CommandContext));

    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        using var run = telemetry.Begin(Name, Context?.GetValue(message) as CommandContext);
        try
        {
            var response = await next(message, cancellationToken);
            if (response is AccessOutcome { Granted: false }) run?.Denied("access-denied");
            else run?.Accepted();
            return response;
        }
        catch (Exception e)
        {
            run?.Failed(e);
            throw;
        }
    }
}
