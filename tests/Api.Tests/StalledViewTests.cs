using System.Net;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// An event no view can read (written past the service, by another node or an older release) stalls no view: each
/// skips it, logs where it is (never its data) and counts it in readiness and a metric.
/// </summary>
public sealed class StalledViewTests : IAsyncLifetime
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("consent.granted.v1", "{\"consentId\": \"secret text\"")] // not JSON
    [InlineData("access.granted.v1", "{\"garbage\":true,\"note\":\"secret text\"}")] // JSON, but no member its type requires
    public async Task An_unreadable_event_is_skipped_counted_and_stalls_no_view(string type, string json)
    {
        var store = _host.Services.GetRequiredService<IEventStore>();
        var metadata = new EventMetadata("someone", Role.Physician, "northside", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();
        var bad = $"patient-{Guid.NewGuid()}";
        var appended = await store.AppendAsync(bad, ExpectedVersion.NoStream,
            [new ProposedEvent(Guid.NewGuid(), type, Encoding.UTF8.GetBytes(json), metadata)], null);
        var runner = _host.Services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionRunner>();
        Assert.True(await runner.WaitForAsync(appended.Events[^1].Position!.Value, TimeSpan.FromMinutes(2)), "every view moves past the bad event");

        // A later event of Alice's reaches her trail: the view moved past the bad event instead of retrying it forever.
        Assert.Equal(HttpStatusCode.OK, (await _host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
        var audit = await _host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.False(audit.Headers.Contains("X-View-Behind"));
        Assert.Contains("riverside", await audit.Content.ReadAsStringAsync());

        // Readiness stays ready and says every view skipped one event; the log names where, never the event's text.
        var ready = await (await _host.Client().GetAsync("/health/ready")).Content.ReadAsStringAsync();
        Assert.Contains("\"ready\"", ready);
        Assert.Contains("skipped 1 unreadable event(s)", ready);
        Assert.DoesNotContain("secret text", ready);
        Assert.Contains(_host.Logs.Lines, l => l.Contains($"unreadable event {bad}@0", StringComparison.Ordinal));
        Assert.DoesNotContain(_host.Logs.Lines, l => l.Contains("secret text", StringComparison.Ordinal));
        // ... and a metric counts it, for whatever exporter watches the meter.
        var unreadable = ProjectionGauges.Read(_host, "healthevents.projection.unreadable_events");
        Assert.Equal(1, unreadable["patient-audit"]);
        Assert.Equal(1, unreadable["consents"]);
        Assert.Equal(1, unreadable["insurance"]);
        // The ledger reads no event's content: it takes this one as a leaf (its stored hash) like the endorsers' witnesses,
        // which count every event of the log, so its next tree head is still endorsed.
        Assert.Equal(0, unreadable.GetValueOrDefault("ledger"));
        var size = await _host.Services.GetRequiredService<HealthEvents.Projections.Ledger.LedgerQuery>().SizeAsync(CancellationToken.None);
        // Throws when the endorsers refuse the head (their witnesses' root differs); null when another round signed it first.
        await _host.Services.GetRequiredService<HealthEvents.Projections.Ledger.LedgerSigner>().SignIfDueAsync(force: true, CancellationToken.None);
        var last = await store.ReadLastAsync(HealthEvents.Application.Ledger.LedgerStream.StreamId);
        var head = Assert.IsType<HealthEvents.Domain.Ledger.TreeHeadSigned>(_host.Services.GetRequiredService<EventSerializer>().Deserialize(last!.Type, last.Data));
        Assert.True(head.TreeSize >= size, $"the last tree head covers {head.TreeSize} leaves, not the {size} the ledger holds");
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
    [Fact]
    public async Task A_foreign_event_in_a_patients_stream_gets_answers_never_a_500()
    {
        // Another writer's event, without the service's metadata, at the end of Alice's stream.
        var store = _host.Services.GetRequiredService<IEventStore>();
        var appended = await store.AppendAsync($"patient-{Alice}", ExpectedVersion.Any,
            [new ProposedEvent(Guid.NewGuid(), "junk", Encoding.UTF8.GetBytes("{\"x\":1}"), Encoding.UTF8.GetBytes("{\"y\":2}"))], null);
        var version = appended.LastVersion;

        var alice = _host.As("alice (patient)");
        foreach (var read in new[] { "verification", "audit", "envelopes" })
            Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/patients/{Alice}/{read}")).StatusCode);

        // A command on her stream is refused as damaged, naming the version, and records nothing.
        var answer = await _host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        var problem = await answer.Content.ReadAsStringAsync();
        Assert.Contains("damaged-stream", problem);
        Assert.Contains($"version {version}", problem);
        Assert.Equal(version, (await store.ReadLastAsync($"patient-{Alice}"))!.Version);
    }
}
