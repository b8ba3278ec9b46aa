using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Projections;
using HealthEvents.Projections.Runner;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Api.Tests;

/// <summary>
/// An event a view fails on is parked, on the running service: the view goes on, and the operator finds it in
/// readiness, in a metric, in the log and in the parked-events table the README names — never the event's data.
/// </summary>
public sealed class ParkedViewTests : IAsyncLifetime
{
    private const string Secret = "Jane Doe, HIV positive";
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>A view with a bug: it throws, quoting the event, on the one event it cannot handle.</summary>
    private sealed class BuggyView(Guid eventId) : IProjection
    {
        public string Name => "buggy-view";

        public IReadOnlyCollection<Type> DocumentTypes { get; } = [];

        public Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct) =>
            e.Envelope.EventId == eventId ? throw new FormatException(Secret) : Task.CompletedTask;
    }

    [Fact]
    public async Task An_event_a_view_fails_on_is_parked_and_reported_in_readiness_a_metric_the_log_and_its_table()
    {
        var store = _host.Services.GetRequiredService<IEventStore>();
        var metadata = new EventMetadata("someone", Role.Physician, "northside", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();
        var stream = $"patient-{Guid.NewGuid()}";
        var eventId = Guid.NewGuid();
        var serializer = _host.Services.GetRequiredService<EventSerializer>();
        ProposedEvent Corrected(Guid id, int birthYear)
        {
            var e = new Domain.Patients.PatientDetailsCorrected(birthYear, Sex.Female, "ciphertext");
            return new ProposedEvent(id, serializer.NameOf(e), serializer.Serialize(e), metadata);
        }
        var appended = await store.AppendAsync(stream, ExpectedVersion.NoStream, [Corrected(eventId, 1961)], null);
        var after = await store.AppendAsync(stream, ExpectedVersion.After(0), [Corrected(Guid.NewGuid(), 1962)], null);

        var runner = _host.Services.GetRequiredService<ProjectionRunner>();
        Assert.True(runner.Add(new BuggyView(eventId)));
        Assert.True(await runner.WaitForAsync("buggy-view", after.Events[^1].Position!.Value, TimeSpan.FromMinutes(2)), "the view moves past the event");
        var status = runner.Status.Single(s => s.Name == "buggy-view");
        Assert.Equal((1L, $"{stream}@0", false), (status.ParkedEvents, status.LastParked, status.Stalled));

        var ready = await (await _host.Client().GetAsync("/health/ready")).Content.ReadAsStringAsync();
        Assert.Contains("\"ready\"", ready);
        Assert.Contains($"parked 1 event(s) it failed on, the last {stream}@0", ready);
        Assert.Contains(_host.Logs.Lines, l => l.Contains($"buggy-view parked the event {stream}@0 at position {appended.Events[0].Position}", StringComparison.Ordinal));
        Assert.DoesNotContain(_host.Logs.Lines, l => l.Contains("HIV", StringComparison.Ordinal));
        Assert.DoesNotContain("HIV", ready);

        var parked = ProjectionGauges.Read(_host, "healthevents.projection.parked_events");
        Assert.Equal(1, parked["buggy-view"]);
        Assert.Equal(0, parked["patient-audit"]);

        // The query the README gives operators finds it: where and why, without the event's data or the message.
        await using var query = _host.Services.GetRequiredService<NpgsqlDataSource>()
            .CreateCommand("SELECT data FROM readmodels.mt_doc_parkedevent WHERE data->>'projection' = 'buggy-view'");
        var row = (string)(await query.ExecuteScalarAsync())!;
        Assert.Contains(eventId.ToString(), row);
        Assert.Contains("System.FormatException", row);
        Assert.DoesNotContain("HIV", row);
        Assert.DoesNotContain("1961", row);
    }
}
