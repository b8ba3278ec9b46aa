using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using HealthEvents.Projections;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Insurance;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace HealthEvents.Api.Tests;

/// <summary>
/// OpenTelemetry as an operator's collector receives it, read with the in-memory exporter from the real service: a
/// command is one trace of its steps, found from the correlation id its events store; the projection lag rises while a
/// view is held back and falls when it catches up; no exported attribute names the patient.
/// </summary>
public sealed class ObservabilityTests : IAsyncLifetime
{
    private readonly Exported<Activity> _spans = new();
    private readonly Exported<Metric> _metrics = new();
    private readonly int _metricsPort = FreePorts.Next();
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(), builder =>
    {
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));
        // Collected only when a test asks (ForceFlush), so the points read are those of that collection.
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(_metrics,
            o => o.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = int.MaxValue));
    }, "--HealthEvents:Metrics:ProjectionLag:Interval=00:00:00.200", "--HealthEvents:Metrics:Prometheus=true",
        $"--HealthEvents:Metrics:Urls=http://127.0.0.1:{_metricsPort}");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_command_is_one_trace_of_its_steps_and_its_correlation_id_is_the_trace_id()
    {
        var patientId = Guid.NewGuid();
        var name = $"Tracy Telemetry {Guid.NewGuid():N}";
        var doctor = _host.As("northside physician");

        // A client's trace: the registration, then the patient's first read (which waits for the audit view).
        // Sampled ("recorded"), as a caller's trace worth keeping is: the service's spans follow the caller's decision.
        using (var client = new Activity("client") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            var trace = client.TraceId;
            Assert.Equal(HttpStatusCode.Created, (await doctor.PostJsonAsync("/patients",
                new { patientId, homeHospital = "northside", birthYear = 1980, sex = "female", name })).StatusCode);
            var patient = _host.Client(_host.Mint("northside", "tracy-telemetry", Role.Patient, patientId));
            Assert.Equal(HttpStatusCode.OK, (await patient.GetAsync($"/patients/{patientId}/audit")).StatusCode);
            client.Stop();

            // Spans are exported as they end, and a server span ends a moment after its response reached the client.
            await Patience.UntilAsync(() => Task.FromResult(Ours(trace).Any(s => s.DisplayName == "read-your-writes")
                    && Ours(trace).Any(s => s.DisplayName == "command RegisterPatient")
                    && Ours(trace).Any(s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem("http.route") == "/patients/{id:guid}/audit")
                    && Ours(trace).Any(s => s.DisplayName == "decide" && Ours(trace).Any(e => e.DisplayName == "endorse" && e.SpanId == s.ParentSpanId))),
                () => "the trace never held the command and the read: " + string.Join(", ", Ours(trace).Select(s => s.DisplayName)));
            var spans = Ours(trace);
            var command = Assert.Single(spans, s => s.DisplayName == "command RegisterPatient");
            Assert.Equal(HealthEventsTelemetry.SourceName, command.Source.Name);
            Assert.Equal(CommandOutcome.Accepted, command.GetTagItem("healthevents.outcome"));
            Assert.Single(spans, s => s.DisplayName == "decide" && s.ParentSpanId == command.SpanId);
            Assert.Single(spans, s => s.DisplayName == "append" && s.ParentSpanId == command.SpanId);
            var endorsed = spans.Where(s => s.DisplayName == "endorse" && s.ParentSpanId == command.SpanId).ToList();
            Assert.NotEmpty(endorsed);
            var hospitals = endorsed.Select(s => (string)s.GetTagItem("healthevents.hospital")!).ToList();
            Assert.Equal(hospitals.Distinct().Count(), hospitals.Count);
            Assert.All(hospitals, h => Assert.Contains(h, Hosting.DemoNetwork.Hospitals));
            Assert.Contains(endorsed, e => (string?)e.GetTagItem("healthevents.outcome") == "signed");
            // Each endorser re-decides the command itself: its decision is a span under its call.
            Assert.True(spans.Any(s => s.DisplayName == "decide" && endorsed.Any(e => e.SpanId == s.ParentSpanId)),
                "no endorser's decision under an endorse span; the trace: " + string.Join(", ", spans.Select(s =>
                    $"{s.DisplayName}[{s.SpanId.ToHexString()[..6]}<{s.ParentSpanId.ToHexString()[..6]} {s.GetTagItem("healthevents.hospital")} {s.GetTagItem("healthevents.outcome")}]")));
            var wait = Assert.Single(spans, s => s.DisplayName == "read-your-writes");
            Assert.Equal("patient-audit", wait.GetTagItem("healthevents.projection"));
            // The server spans name the route template, never the path with the patient's id.
            Assert.Contains(spans, s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem("http.route") == "/patients/{id:guid}/audit");

            // No X-Correlation-Id: the correlation id the events store is the trace id, and the span says so too.
            var correlation = new Guid(Convert.FromHexString(trace.ToHexString()), bigEndian: true);
            Assert.Equal(trace.ToHexString(), correlation.ToString("N"));
            Assert.Equal(correlation.ToString(), command.GetTagItem("healthevents.correlation_id"));
            Assert.Equal(correlation, (await StoredMetadataAsync(patientId)).CorrelationId);
        }

        // A caller's own correlation id is kept in the events and put on the command's span.
        var callerCorrelation = Guid.NewGuid();
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"/patients/{patientId}/access")
               { Content = JsonContent.Create(new { purpose = "treatment", categories = new[] { "conditions" } }, options: Json.Options) })
        {
            request.Headers.Add("X-Correlation-Id", callerCorrelation.ToString());
            await doctor.SendAsync(request);
        }
        Assert.Equal(callerCorrelation, (await StoredMetadataAsync(patientId)).CorrelationId);
        await Patience.UntilAsync(() => Task.FromResult(_spans.Snapshot().Any(s =>
                s.DisplayName == "command RequestAccess" && (string?)s.GetTagItem("healthevents.correlation_id") == callerCorrelation.ToString())),
            () => "no command span carried the caller's correlation id");

        // A refused command: counted by its problem code.
        Assert.Equal(HttpStatusCode.BadRequest, (await doctor.PostJsonAsync($"/patients/{patientId}/access",
            new { purpose = "curiosity", categories = new[] { "conditions" } })).StatusCode);

        var metrics = Collect();
        Assert.Contains(Points(metrics, "healthevents.commands"), p => p.Tags["healthevents.command"] == "RegisterPatient"
            && p.Tags["healthevents.outcome"] == CommandOutcome.Accepted && p.Sum >= 1);
        Assert.Contains(Points(metrics, "healthevents.command.refusals"), p => p.Tags["healthevents.command"] == "RequestAccess"
            && p.Tags["error.type"] == "invalid-command" && p.Sum == 1);
        Assert.Contains(Points(metrics, "healthevents.command.duration"), p => p.Tags["healthevents.command"] == "RegisterPatient" && p.Sum > 0);
        Assert.All(hospitalsOf(Points(metrics, "healthevents.endorsement.duration")), h => Assert.Contains(h, Hosting.DemoNetwork.Hospitals));
        Assert.NotEmpty(Points(metrics, "healthevents.endorsement.duration"));

        // Scraped in Prometheus' text format when the setting is on, on the metrics listener (no token set: its address is the guard).
        using var scraper = new HttpClient { Timeout = Patience.Deadline };
        var scraped = await scraper.GetStringAsync($"http://127.0.0.1:{_metricsPort}/metrics");
        Assert.Contains("healthevents_commands", scraped);
        Assert.Contains("healthevents_projection_lag", scraped);

        AssertNothingNames([patientId.ToString("D"), patientId.ToString("N"), name, "Tracy"], metrics, scraped);

        static IEnumerable<string> hospitalsOf(IEnumerable<Point> points) => points.Select(p => p.Tags["healthevents.hospital"]!);
    }

    [Fact]
    public async Task The_lag_metric_rises_while_a_view_is_held_back_and_falls_when_it_catches_up()
    {
        var view = InsuranceProjection.ProjectionName;
        await Patience.UntilAsync(() => Task.FromResult(Lag(view) is (0, 0)), () => $"the {view} view never caught up at start: {Lag(view)}");

        var names = new List<string>();
        var doctor = _host.As("northside physician");
        // Holding the view's lock, as a rebuild does: the node running it steps down and no one applies anything.
        var readModels = _host.Services.GetRequiredService<ReadModelStore>();
        using var deadline = new CancellationTokenSource(Patience.Deadline);
        await using (await ProjectionLock.AcquireAsync(readModels.LockConnectionString, view, deadline.Token))
        {
            for (var i = 0; i < 3; i++)
            {
                names.Add($"Lagging Patient {Guid.NewGuid():N}");
                Assert.Equal(HttpStatusCode.Created, (await doctor.PostJsonAsync("/patients",
                    new { homeHospital = "northside", birthYear = 1990, sex = "male", name = names[^1] })).StatusCode);
            }
            await Patience.UntilAsync(() => Task.FromResult(Lag(view) is { Events: >= 3, Seconds: > 0 }),
                () => $"the lag of {view} never showed the three registrations: {Lag(view)}");
        }
        await Patience.UntilAsync(() => Task.FromResult(Lag(view) is (0, 0)), () => $"the {view} view never caught up again: {Lag(view)}");

        AssertNothingNames([.. names], Collect(), scraped: "");
    }

    /// <summary>The events and seconds the lag metrics of this node report for <paramref name="projection"/> now (null: not reported).</summary>
    private (long Events, double Seconds)? Lag(string projection)
    {
        var metrics = Collect();
        var events = Points(metrics, "healthevents.projection.lag.events").SingleOrDefault(p => p.Tags["healthevents.projection"] == projection);
        var seconds = Points(metrics, "healthevents.projection.lag.time").SingleOrDefault(p => p.Tags["healthevents.projection"] == projection);
        return events is null || seconds is null ? null : ((long)events.Sum, seconds.Sum);
    }

    /// <summary>A metric point, read at once (the SDK reuses them at the next collection): its attributes and its value (a gauge's, a counter's sum, a histogram's sum).</summary>
    private sealed record Point(string Metric, IReadOnlyDictionary<string, string?> Tags, double Sum);

    /// <summary>Collects every meter the provider listens to, and reads the points: those of every node in this process.</summary>
    private List<(Metric Metric, List<Point> Points)> Collect()
    {
        lock (_metrics)
        {
            _metrics.Clear();
            _host.Services.GetRequiredService<MeterProvider>().ForceFlush();
            return _metrics.Snapshot().Select(m => (m, ReadPoints(m))).ToList();
        }
    }

    private static List<Point> ReadPoints(Metric metric)
    {
        var points = new List<Point>();
        foreach (ref readonly var p in metric.GetMetricPoints())
        {
            var tags = new Dictionary<string, string?>();
            foreach (var tag in p.Tags) tags[tag.Key] = tag.Value?.ToString();
            var value = metric.MetricType switch
            {
                MetricType.LongGauge => p.GetGaugeLastValueLong(),
                MetricType.DoubleGauge => p.GetGaugeLastValueDouble(),
                MetricType.LongSum or MetricType.LongSumNonMonotonic => p.GetSumLong(),
                MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => p.GetSumDouble(),
                MetricType.Histogram => p.GetHistogramSum(),
                _ => double.NaN,
            };
            points.Add(new Point(metric.Name, tags, value));
        }
        return points;
    }

    /// <summary>The points of <paramref name="name"/> from this node's meters (tagged with its service.instance.id).</summary>
    private IEnumerable<Point> Points(List<(Metric Metric, List<Point> Points)> metrics, string name)
    {
        var instance = _host.Services.GetRequiredService<ServiceInstance>().Id;
        return metrics.Where(m => m.Metric.Name == name
                && m.Metric.MeterTags?.Any(t => t.Key == "service.instance.id" && Equals(t.Value, instance)) == true)
            .SelectMany(m => m.Points);
    }

    /// <summary>The spans of one trace, from every node in this process.</summary>
    private List<Activity> Ours(ActivityTraceId trace) => _spans.Snapshot().Where(s => s.TraceId == trace).ToList();

    private async Task<EventMetadata> StoredMetadataAsync(Guid patientId)
    {
        EventEnvelope? last = null;
        await foreach (var e in _host.Services.GetRequiredService<IEventStore>().ReadStreamAsync($"patient-{patientId}")) last = e;
        return EventMetadata.FromBytes(Assert.IsType<EventEnvelope>(last).Metadata);
    }

    /// <summary>
    /// No span exported while the test ran (any node's: names, attributes, events) and no metric point or meter (any
    /// node's) holds any of <paramref name="secrets"/>, nor does the Prometheus text.
    /// </summary>
    private void AssertNothingNames(string[] secrets, List<(Metric Metric, List<Point> Points)> metrics, string scraped)
    {
        var texts = new List<(string Where, string? Text)>();
        foreach (var span in _spans.Snapshot())
        {
            texts.Add(($"span name {span.Source.Name}", span.DisplayName));
            texts.AddRange(span.TagObjects.Select(t => ($"{span.DisplayName} {t.Key}", t.Value?.ToString())));
            texts.AddRange(span.Events.SelectMany(e => e.Tags.Select(t => ($"{span.DisplayName} event {e.Name} {t.Key}", t.Value?.ToString()))));
            texts.AddRange(span.Baggage.Select(b => ($"{span.DisplayName} baggage {b.Key}", b.Value)));
        }
        foreach (var (metric, points) in metrics)
        {
            texts.AddRange(metric.MeterTags?.Select(t => ($"meter {metric.MeterName} {t.Key}", t.Value?.ToString())) ?? []);
            texts.AddRange(points.SelectMany(p => p.Tags.Select(t => ($"{p.Metric} {t.Key}", t.Value))));
        }
        texts.Add(("/metrics", scraped));
        Assert.NotEmpty(_spans.Snapshot());
        var leaks = texts.Where(t => secrets.Any(secret => t.Text?.Contains(secret, StringComparison.OrdinalIgnoreCase) == true)).Select(t => t.Where).ToList();
        Assert.True(leaks.Count == 0, "Personal data in: " + string.Join("; ", leaks.Distinct()));
    }

    /// <summary>A collection the exporters may add to from any thread (every node's spans come through every provider).</summary>
    private sealed class Exported<T> : ICollection<T>
    {
        private readonly List<T> _items = [];

        public List<T> Snapshot()
        {
            lock (_items) return [.. _items];
        }

        public int Count
        {
            get { lock (_items) return _items.Count; }
        }

        public bool IsReadOnly => false;

        public void Add(T item)
        {
            lock (_items) _items.Add(item);
        }

        public void Clear()
        {
            lock (_items) _items.Clear();
        }

        public bool Contains(T item)
        {
            lock (_items) return _items.Contains(item);
        }

        public void CopyTo(T[] array, int arrayIndex)
        {
            lock (_items) _items.CopyTo(array, arrayIndex);
        }

        public bool Remove(T item)
        {
            lock (_items) return _items.Remove(item);
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
