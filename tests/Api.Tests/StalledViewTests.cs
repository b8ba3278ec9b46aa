using System.Diagnostics;
using System.Net;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// An event no view can read (written past the service, by another node or an older release) stalls the views that
/// need it: readiness says which and where, without the data; reads answer promptly, saying the view is behind.
/// </summary>
public sealed class StalledViewTests : IAsyncLifetime
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_stalled_view_is_reported_and_reads_say_they_are_behind()
    {
        var store = _host.Services.GetRequiredService<IEventStore>();
        var metadata = new EventMetadata("someone", Role.Physician, "northside", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();
        await store.AppendAsync($"patient-{Guid.NewGuid()}", ExpectedVersion.NoStream,
            [new ProposedEvent(Guid.NewGuid(), "consent.granted.v1", Encoding.UTF8.GetBytes("{\"consentId\": \"secret text\""), metadata)], null);

        // Readiness names the stalled view, its position and the error's type — never the event's text.
        string? ready = null;
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            ready = await (await _host.Client().GetAsync("/health/ready")).Content.ReadAsStringAsync();
            if (ready.Contains("projection:patient-audit", StringComparison.Ordinal)) break;
            await Task.Delay(200);
        }
        Assert.Contains("\"degraded\"", ready);
        Assert.Contains("projection:patient-audit", ready);
        Assert.DoesNotContain("secret text", ready);
        Assert.DoesNotContain(_host.Logs.Lines, l => l.Contains("secret text", StringComparison.Ordinal));
        // ... and a metric says so, for whatever exporter watches the meter.
        var stalled = new Dictionary<string, int>();
        using (var listener = new System.Diagnostics.Metrics.MeterListener())
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == _host.Services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionMetrics>().Meter
                    && instrument.Name == "healthevents.projection.stalled")
                    l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            {
                foreach (var tag in tags) if (tag.Key == "healthevents.projection") stalled[(string)tag.Value!] = value;
            });
            listener.Start();
            listener.RecordObservableInstruments();
        }
        Assert.Equal(1, stalled["patient-audit"]);

        // A new event of Alice's lies beyond the stall: her trail answers at once, saying the view is behind.
        Assert.Equal(HttpStatusCode.OK, (await _host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
        var audit = await _host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.Equal("patient-audit", Assert.Single(audit.Headers.GetValues("X-View-Behind")));
    }

    [Fact]
    public async Task An_event_with_a_lone_surrogate_escape_is_read_by_every_view_and_decider()
    {
        // Valid JSON, but no .NET string can hold it as text: written past the service, into Alice's own stream.
        var store = _host.Services.GetRequiredService<IEventStore>();
        var metadata = new EventMetadata("northside-physician", Role.Physician, "northside", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();
        var data = Encoding.UTF8.GetBytes($$"""{"accessId":"{{Guid.NewGuid()}}","actor":{"id":"northside-physician","role":"physician","hospital":"northside"},"reason":"x\ud800y","categoriesReleased":["conditions"]}""");
        await store.AppendAsync($"patient-{Alice}", ExpectedVersion.Any, [new ProposedEvent(Guid.NewGuid(), "access.emergency-used.v1", data, metadata)], null);

        // Her trail shows it (no view stalls on it), and commands on her record still work.
        var audit = await _host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.False(audit.Headers.Contains("X-View-Behind"));
        Assert.Contains("\ufffd", (await audit.Content.ReadAsStringAsync()).ToLowerInvariant());
        Assert.Equal(HttpStatusCode.OK, (await _host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
    }
}
