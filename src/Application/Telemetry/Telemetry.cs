using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

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
        public const string Projection = "healthevents.projection";
        public const string CaughtUp = "healthevents.caught_up";
    }
}

/// <summary>This node's <c>service.instance.id</c> (OpenTelemetry resource semantic conventions): new at every start.</summary>
public sealed record ServiceInstance(string Id)
{
    public static ServiceInstance New() => new(Guid.NewGuid().ToString());
}
