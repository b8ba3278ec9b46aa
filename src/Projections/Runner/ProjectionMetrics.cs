using System.Diagnostics.Metrics;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Telemetry;
using static HealthEvents.Application.Telemetry.HealthEventsTelemetry;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// The read side's state as metrics (System.Diagnostics.Metrics, meter <c>HealthEvents.Projections</c>, tagged with the
/// node's <c>service.instance.id</c>), for whatever exporter the host adds. Per projection (attribute
/// <c>healthevents.projection</c>, its name): <c>healthevents.projection.stalled</c> (1 while it keeps failing on one
/// event, else 0), <c>healthevents.projection.consecutive_failures</c>, <c>healthevents.projection.unreadable_events</c> (events skipped as unreadable),
/// <c>healthevents.projection.parked_events</c> (events it failed on alone and passed: the view lacks them), <c>healthevents.projection.lag.events</c> (events
/// of the log it has not applied yet) and <c>healthevents.projection.lag.time</c> (s: how long ago the oldest of them was
/// recorded; 0 when caught up), both as last sampled by <see cref="ProjectionLagSampler"/>. The ledger:
/// <c>healthevents.ledger.tree.size</c> (leaves in the tree) and <c>healthevents.ledger.head.age</c> (s since the
/// latest signed tree head), as the ledger signer last saw them. Never a position's data or an error message.
/// </summary>
public sealed class ProjectionMetrics
{
    public const string MeterName = "HealthEvents.Projections";

    private readonly Meter _meter;
    private readonly IClock _clock;
    private volatile IReadOnlyList<ProjectionLag> _lags = [];
    private volatile LedgerSighting? _ledger;

    /// <summary>This runner's meter (a process may hold several hosts, each with its own).</summary>
    public Meter Meter => _meter;

    public ProjectionMetrics(ProjectionRunner runner, IMeterFactory meters, ServiceInstance instance, IClock clock)
    {
        _clock = clock;
        _meter = CreateMeter(meters, MeterName, instance);
        _meter.CreateObservableGauge("healthevents.projection.stalled",
            () => runner.Status.Select(s => new Measurement<int>(s.Stalled ? 1 : 0, Named(s.Name))),
            description: "1 while the projection keeps failing on one event (see /health/ready), else 0");
        _meter.CreateObservableGauge("healthevents.projection.consecutive_failures",
            () => runner.Status.Select(s => new Measurement<int>(s.ConsecutiveFailures, Named(s.Name))),
            description: "Failures in a row of the projection's current batch");
        _meter.CreateObservableGauge("healthevents.projection.unreadable_events",
            () => runner.Status.Select(s => new Measurement<long>(s.UnreadableEvents, Named(s.Name))), "{event}",
            "Events the projection skipped because this build cannot read them (written past the service: run verify)");
        _meter.CreateObservableGauge("healthevents.projection.parked_events",
            () => runner.Status.Select(s => new Measurement<long>(s.ParkedEvents, Named(s.Name))), "{event}",
            "Events the projection failed on, each on its own, and passed: the view lacks them until a rebuild");
        _meter.CreateObservableGauge("healthevents.projection.lag.events",
            () => _lags.Select(l => new Measurement<long>(l.Events, Named(l.Projection))), "{event}",
            "Events of the log the projection has not applied yet (counted up to the sampler's limit)");
        _meter.CreateObservableGauge("healthevents.projection.lag.time",
            () => _lags.Select(l => new Measurement<double>(l.Seconds, Named(l.Projection))), "s",
            "How long ago the oldest event the projection has not applied was recorded; 0 when caught up");
        _meter.CreateObservableGauge("healthevents.ledger.tree.size",
            () => _ledger is { } l ? [new Measurement<long>(l.TreeSize)] : Array.Empty<Measurement<long>>(), "{leaf}",
            "Leaves (events) in the ledger's Merkle tree");
        _meter.CreateObservableGauge("healthevents.ledger.head.age",
            () => _ledger is { HeadAt: { } at } ? [new Measurement<double>(Math.Max(0, (_clock.UtcNow - at).TotalSeconds))] : Array.Empty<Measurement<double>>(),
            "s", "Time since the latest signed tree head was signed");
    }

    /// <summary>The latest lag sample, one entry per projection (a projection left out is no longer reported).</summary>
    public void LagSampled(IReadOnlyList<ProjectionLag> lags) => _lags = lags;

    /// <summary>What the ledger signer saw: the tree's size and when its latest signed head was signed (null: none yet).</summary>
    public void LedgerSeen(long treeSize, DateTimeOffset? headAt) => _ledger = new(treeSize, headAt);

    private static KeyValuePair<string, object?> Named(string projection) => new(Tags.Projection, projection);

    private sealed record LedgerSighting(long TreeSize, DateTimeOffset? HeadAt);
}

/// <summary>How far a projection is behind the log: events not applied yet, and the age in seconds of the oldest of them.</summary>
public sealed record ProjectionLag(string Projection, long Events, double Seconds);
