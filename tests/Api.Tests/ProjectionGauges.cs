using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>Reads the node's per-projection gauges as an exporter would (meter <c>HealthEvents.Projections</c>).</summary>
internal static class ProjectionGauges
{
    /// <summary>The value of <paramref name="instrument"/> (a <c>long</c> gauge) now, by the projection it is tagged with.</summary>
    public static Dictionary<string, long> Read(ServiceHost host, string instrument)
    {
        var values = new Dictionary<string, long>();
        var meter = host.Services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionMetrics>().Meter;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter == meter && i.Name == instrument) l.EnableMeasurementEvents(i);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags) if (tag.Key == "healthevents.projection") values[(string)tag.Value!] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
