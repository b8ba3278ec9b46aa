using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Projections.Runner;

/// <summary>Setting section <c>HealthEvents:Metrics:ProjectionLag</c>.</summary>
public sealed class ProjectionLagOptions
{
    /// <summary>How often the lag of every projection is measured (one read of the log after the lowest checkpoint).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most events read per measurement: a projection further behind is reported this many events behind.</summary>
    public int MaxEvents { get; set; } = 10_000;
}

/// <summary>
/// Measures how far each projection is behind the global log, for <see cref="ProjectionMetrics"/>: reads the log after the
/// lowest checkpoint (this node's, or the stored one of a projection another node runs), then counts per projection the
/// events after its checkpoint and takes the recording time (event metadata <c>occurredAt</c>) of the first of them.
/// Works the same on every event store: it only reads the log. Caught up, the read is one empty page.
/// </summary>
public sealed partial class ProjectionLagSampler(
    ProjectionRunner runner, IEventStore store, ProjectionMetrics metrics, IClock clock, ProjectionLagOptions options,
    ILogger<ProjectionLagSampler> log) : BackgroundService
{
    private const int Page = 1000;

    /// <summary>Measures every projection's lag now and hands it to the metrics.</summary>
    public async Task SampleAsync(CancellationToken ct)
    {
        var projections = await runner.GetStatusAsync(ct);
        if (projections.Count == 0) return;
        GlobalPosition? from = projections.Any(p => p.Checkpoint is null) ? null : projections.Min(p => p.Checkpoint!.Value);
        var unapplied = new List<(GlobalPosition Position, DateTimeOffset? At)>();
        var after = from;
        while (unapplied.Count < options.MaxEvents)
        {
            var batch = await store.ReadAllAsync(after, Math.Min(Page, options.MaxEvents - unapplied.Count), ct);
            if (batch.Count == 0) break;
            unapplied.AddRange(batch.Select(e => (e.Position!.Value, OccurredAt(e))));
            after = batch[^1].Position;
        }
        var now = clock.UtcNow;
        metrics.LagSampled([.. projections.Select(p =>
        {
            var behind = unapplied.Where(e => p.Checkpoint is not { } c || e.Position > c).ToList();
            var oldest = behind.Select(e => e.At).FirstOrDefault(at => at is not null);
            return new ProjectionLag(p.Name, behind.Count, oldest is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0);
        })]);
    }

    // An event written past the service may carry metadata no reader understands: it counts, without a time.
    private static DateTimeOffset? OccurredAt(EventEnvelope e)
    {
        try
        {
            return EventMetadata.FromBytes(e.Metadata).OccurredAt;
        }
        catch (Exception x) when (x is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
        {
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                SampleFailed(log, e.GetType().Name); // the type only: messages may quote data
            }
            try
            {
                await Task.Delay(options.Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Debug, Message = "Projection lag could not be measured ({ExceptionType}); trying again later")]
    private static partial void SampleFailed(ILogger logger, string exceptionType);
}
