using System.Diagnostics.Metrics;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// The runner's state as metrics (System.Diagnostics.Metrics, meter <c>HealthEvents.Projections</c>), for whatever
/// exporter the host adds: per projection, <c>healthevents.projection.stalled</c> (1 while it keeps failing on one
/// event, else 0) and <c>healthevents.projection.consecutive_failures</c>. Tagged with the projection's name only —
/// never a position's data or an error message.
/// </summary>
public sealed class ProjectionMetrics : IDisposable
{
    public const string MeterName = "HealthEvents.Projections";

    private readonly Meter _meter = new(MeterName);

    /// <summary>This runner's meter (a process may hold several hosts, each with its own).</summary>
    public Meter Meter => _meter;

    public ProjectionMetrics(ProjectionRunner runner)
    {
        _meter.CreateObservableGauge("healthevents.projection.stalled",
            () => runner.Status.Select(s => new Measurement<int>(s.Stalled ? 1 : 0, new KeyValuePair<string, object?>("projection", s.Name))),
            description: "1 while the projection keeps failing on one event (see /health/ready), else 0");
        _meter.CreateObservableGauge("healthevents.projection.consecutive_failures",
            () => runner.Status.Select(s => new Measurement<int>(s.ConsecutiveFailures, new KeyValuePair<string, object?>("projection", s.Name))),
            description: "Failures in a row of the projection's current batch");
    }

    public void Dispose() => _meter.Dispose();
}
