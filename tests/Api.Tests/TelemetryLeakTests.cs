using System.Diagnostics;
using System.Net;
using System.Text;
using HealthEvents.Application.Telemetry;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Findings of an attack on issue 15's telemetry (branch tel-attack), each as the exporter an operator runs sees it:
/// text the caller or PostgreSQL puts in a request or an error must not reach a span, and a refused FHIR import must be
/// counted like any refused command; an append that lost a race must look unlike the one that wrote. (Found by an attack
/// on issue 15's telemetry; each failed before its fix.)
/// </summary>
public sealed class TelemetryLeakTests : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly object _collecting = new();
    private ServiceHost _host = null!;

    private ServiceHost.Node _node = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(_node = await ServiceHost.NewNodeAsync(), builder =>
    {
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(new Locked<Activity>(_spans)));
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(new Locked<Metric>(_metrics),
            o => o.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = int.MaxValue));
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>
    /// README: "exception events carry the exception's type, never its message". PostgreSQL quotes the offending value
    /// in some errors (22P02 invalid input syntax); Npgsql puts the exception's ToString() — message and all — in
    /// exception.stacktrace, which the redaction leaves. With `Include Error Detail=true` on the connection string the
    /// DETAIL of a unique violation (he_events_pk: the stream id, patient-&lt;id&gt;) goes the same way.
    /// </summary>
    [Fact]
    public async Task An_sql_error_quoting_a_value_does_not_export_the_value()
    {
        const string secret = "Zephyrina Quxwellington";
        var dataSource = _host.Services.GetRequiredService<NpgsqlDataSource>();
        // Under a span, as every request's statements are: a statement outside any span is not traced (see below).
        using (HealthEventsTelemetry.Source.StartActivity("test statement"))
        await using (var command = dataSource.CreateCommand("SELECT $1::uuid"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = secret });
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Contains(secret, error.MessageText, StringComparison.Ordinal);
        }

        await Patience.UntilAsync(() => Task.FromResult(Snapshot().Any(s => s.Events.Any(e => e.Name == "exception"))),
            () => "no span recorded the failed statement's exception");
        var leaks = Snapshot().SelectMany(s => s.Events.SelectMany(e => e.Tags)
                .Where(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
                .Select(t => $"{s.DisplayName} {t.Key}"))
            .Concat(Snapshot().Where(s => s.StatusDescription?.Contains(secret, StringComparison.Ordinal) == true).Select(s => $"{s.DisplayName} status"))
            .Distinct().ToList();
        Assert.True(leaks.Count == 0, "The value is exported in: " + string.Join("; ", leaks));
    }

    /// <summary>
    /// The stack trace an exception event exports is the types and frames of the exception and its causes, never a
    /// message: a PostgreSQL error (message, DETAIL) wrapped in our own exception, recorded on a span with
    /// Activity.AddException as Npgsql and the OpenTelemetry instrumentations do; a span whose exception event was written
    /// by hand, message and all, is not exported.
    /// </summary>
    [Fact]
    public async Task An_exception_event_keeps_types_and_frames_but_no_message()
    {
        const string secret = "Zephyrina Quxwellington";
        PostgresException error;
        await using (var command = _host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand("SELECT $1::uuid"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = secret });
            error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        }
        var wrapped = new InvalidOperationException($"While reading {secret}", error);
        using (var span = HealthEventsTelemetry.Source.StartActivity("added")!) span.AddException(wrapped);
        // A library that writes the event itself, the semantic conventions' way, with ToString() as the stack trace.
        using (var span = HealthEventsTelemetry.Source.StartActivity("written by hand")!)
            span.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
            {
                ["exception.type"] = wrapped.GetType().FullName, ["exception.message"] = wrapped.Message, ["exception.stacktrace"] = wrapped.ToString(),
            }));
        using (HealthEventsTelemetry.Source.StartActivity("after")) { }

        // Exported as each ends, in order: once "after" is there, the others would have been.
        await Patience.UntilAsync(() => Task.FromResult(Snapshot().Any(s => s.DisplayName == "after")), () => "the spans were never exported");
        Assert.DoesNotContain(Snapshot(), s => s.DisplayName == "written by hand");
        var tags = Assert.Single(Snapshot().Single(s => s.DisplayName == "added").Events).Tags.ToDictionary(t => t.Key, t => t.Value?.ToString());
        Assert.DoesNotContain(tags.Values, v => v?.Contains("Zephyrina", StringComparison.Ordinal) == true);
        Assert.Equal(typeof(InvalidOperationException).FullName, tags["exception.message"]);
        var frames = tags["exception.stacktrace"]!;
        Assert.StartsWith(typeof(InvalidOperationException).FullName + "\n ---> " + typeof(PostgresException).FullName, frames, StringComparison.Ordinal);
        Assert.Contains("   at Npgsql.", frames, StringComparison.Ordinal); // the cause's frames stay: where it failed
    }

    /// <summary>
    /// The projections poll the database a few times a second: outside any span, such statements are not traces of
    /// their own (HealthEvents:Tracing:UnparentedDatabaseSpans turns them on); the same statement under a span is.
    /// </summary>
    [Fact]
    public async Task A_database_call_outside_any_span_is_not_traced()
    {
        var dataSource = _host.Services.GetRequiredService<NpgsqlDataSource>();
        Assert.Null(Activity.Current);
        await using (var alone = dataSource.CreateCommand("SELECT 1 AS unparented_statement")) await alone.ExecuteScalarAsync();
        using (HealthEventsTelemetry.Source.StartActivity("parent"))
        await using (var under = dataSource.CreateCommand("SELECT 2 AS parented_statement")) await under.ExecuteScalarAsync();

        // Exported as each ends, in order: once the second is there, the first would have been.
        await Patience.UntilAsync(() => Task.FromResult(Snapshot().Any(s => Text(s).Contains("parented_statement", StringComparison.Ordinal)
                && !Text(s).Contains("unparented", StringComparison.Ordinal))),
            () => "the statement under a span was not traced");
        Assert.DoesNotContain(Snapshot(), s => Text(s).Contains("unparented_statement", StringComparison.Ordinal));

        static string Text(Activity s) => s.GetTagItem("db.query.text") as string ?? "";
    }

    /// <summary>
    /// A caller's W3C `tracestate` is copied onto every span of the service (Activity.TraceStateString, exported as the
    /// span's trace_state), and the `Host` header becomes the server span's `server.address`: text a caller chooses,
    /// exported untouched, where the redaction removes url.path, url.query and the user agent.
    /// </summary>
    [Fact]
    public async Task Caller_text_in_tracestate_and_host_is_not_exported()
    {
        const string secret = "zephyrina-quxwellington";
        var doctor = _host.As("northside physician");
        ActivityTraceId trace;
        ActivitySpanId caller;
        using (var client = new Activity("client") { ActivityTraceFlags = ActivityTraceFlags.Recorded, TraceStateString = $"zqx={secret}" }
                   .SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            trace = client.TraceId;
            caller = client.SpanId;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/patients")
            {
                Content = new StringContent("""{"homeHospital":"northside","birthYear":1931,"sex":"female","name":"Z Q"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Host = $"{secret}.example";
            Assert.Equal(HttpStatusCode.Created, (await doctor.SendAsync(request)).StatusCode);
        }

        await Patience.UntilAsync(() => Task.FromResult(Snapshot().Any(s => s.TraceId == trace && s.DisplayName == "command RegisterPatient")),
            () => "the registration's command span was never exported");
        // The test's own HttpClient span (the child of "client") carries the caller's state by right: only the service's spans count.
        var leaks = Snapshot().Where(s => s.TraceId == trace && s.ParentSpanId != caller)
            .SelectMany(s => (s.TraceStateString?.Contains(secret, StringComparison.Ordinal) == true ? [$"{s.DisplayName} trace_state"] : Array.Empty<string>())
                .Concat(s.TagObjects.Where(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true).Select(t => $"{s.DisplayName} {t.Key}")))
            .Distinct().ToList();
        Assert.True(leaks.Count == 0, "Caller text exported in: " + string.Join("; ", leaks));
    }

    /// <summary>
    /// Issue 15: "commands by type and outcome ... refusals by reason". A FHIR bundle refused whole (400
    /// OperationOutcome, nothing stored) is a refused import, yet neither healthevents.commands nor
    /// healthevents.command.refusals counts it (no ImportPatientRecord span either): an operator watching refusals
    /// never sees a hospital's imports failing.
    /// </summary>
    [Fact]
    public async Task A_fhir_bundle_refused_whole_is_counted_as_a_refused_import()
    {
        const string bundle = """
            {"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0d0e0f00-0000-4000-8000-000000000001",
             "resource":{"resourceType":"Patient","identifier":[{"system":"urn:example:mrn","value":"tel-attack-1"}],
                         "name":[{"family":"Refused"}],"birthDate":"1980-13-45","gender":"female"},
             "request":{"method":"POST","url":"Patient"}}]}
            """;
        var response = await _host.As("northside physician").PostAsync("/fhir", new StringContent(bundle, Encoding.UTF8, "application/fhir+json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        await Patience.UntilAsync(() => Task.FromResult(Collect("healthevents.commands").Any(p =>
                Equals(p.Tags.GetValueOrDefault("healthevents.command"), "ImportPatientRecord")
                && Equals(p.Tags.GetValueOrDefault("healthevents.outcome"), "refused") && p.Sum >= 1)),
            () => "healthevents.commands never counted the refused import (ImportPatientRecord, refused)");
        Assert.Contains(Collect("healthevents.command.refusals"), p => Equals(p.Tags.GetValueOrDefault("healthevents.command"), "ImportPatientRecord")
            && Equals(p.Tags.GetValueOrDefault("error.type"), "invalid-bundle"));
    }

    /// <summary>
    /// Concurrent commands on one patient from two nodes conflict; the executor decides, endorses and appends again. The append that
    /// lost the race wrote nothing, yet its span looks exactly like the one that wrote (no error status, no outcome), so
    /// an operator reading a trace cannot tell which attempt landed — nor, for a command finally refused with
    /// `concurrency-conflict`, that none did.
    /// </summary>
    [Fact]
    public async Task An_append_that_lost_a_concurrency_conflict_is_told_apart_from_the_one_that_wrote()
    {
        var (patientId, _) = await _host.NewPatientAsync("Conflicted Patient");
        // On one node a stream's commands take turns (StreamGates): conflicts come from another node on the same store.
        await using var other = await ServiceHost.StartAsync(_node);
        HttpClient[] doctors = [_host.As("northside physician"), other.As("northside physician")];
        List<Activity> appends = [];
        // Conflicts need a race: send bursts through both nodes until one of this node's commands shows two attempts.
        await Patience.UntilAsync(async () =>
        {
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => doctors[i % 2].PostJsonAsync($"/patients/{patientId}/entries",
                new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "J45" }, text = "x" })));
            var spans = Snapshot();
            appends = spans.Where(s => s.DisplayName.StartsWith("command ", StringComparison.Ordinal))
                .Select(c => spans.Where(s => s.DisplayName == "append" && s.ParentSpanId == c.SpanId && s.TraceId == c.TraceId).ToList())
                .FirstOrDefault(a => a.Count >= 2) ?? [];
            return appends.Count >= 2;
        }, () => "no command needed a second attempt");

        var looks = appends.Select(a => $"{a.Status} {a.StatusDescription} " + string.Join(",", a.TagObjects.Select(t => $"{t.Key}={t.Value}"))).ToList();
        Assert.True(looks.Distinct().Count() > 1, "Every attempt's append span looks the same: " + string.Join(" | ", looks));
    }

    /// <summary>
    /// Every problem-details answer is counted by its code, whoever wrote it: the idempotency middleware's
    /// (idempotency-key-invalid), an endpoint's (invalid-query), the exception handler's (malformed-request).
    /// </summary>
    [Fact]
    public async Task Every_problem_answer_is_counted_by_its_code()
    {
        var doctor = _host.As("northside physician");
        using (var badKey = new HttpRequestMessage(HttpMethod.Post, "/patients") { Content = new StringContent("{}", Encoding.UTF8, "application/json") })
        {
            badKey.Headers.Add("Idempotency-Key", "zephyrina-quxwellington");
            Assert.Equal(HttpStatusCode.BadRequest, (await doctor.SendAsync(badKey)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.BadRequest,
            (await doctor.PostAsync("/patients", new StringContent("{\"birthYear\":", Encoding.UTF8, "application/json"))).StatusCode);
        var (patientId, patient) = await _host.NewPatientAsync("Problem Patient");
        Assert.Equal(HttpStatusCode.BadRequest, (await patient.GetAsync($"/patients/{patientId}/audit?order=sideways")).StatusCode);

        string[] expected = ["idempotency-key-invalid", "malformed-request", "invalid-query"];
        List<string> seen = [];
        await Patience.UntilAsync(() =>
        {
            seen = Collect("healthevents.problems").Where(p => Equals(p.Tags.GetValueOrDefault("http.response.status_code"), 400))
                .Select(p => (string)p.Tags["error.type"]!).ToList();
            return Task.FromResult(expected.All(seen.Contains));
        }, () => "problems counted: " + string.Join(", ", seen));
    }

    /// <summary>
    /// Every response names its correlation id (X-Correlation-Id): the caller's when it is a UUID, else one of the
    /// service's (the trace id) — a caller's text that is not a UUID is never echoed.
    /// </summary>
    [Fact]
    public async Task The_correlation_id_is_answered_and_a_caller_text_is_replaced()
    {
        var doctor = _host.As("northside physician");
        var mine = Guid.NewGuid();
        foreach (var (sent, kept) in new[] { (mine.ToString(), true), ("zephyrina-quxwellington", false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/network");
            request.Headers.Add("X-Correlation-Id", sent);
            var answered = Assert.Single((await doctor.SendAsync(request)).Headers.GetValues("X-Correlation-Id"));
            Assert.True(Guid.TryParse(answered, out var id), answered);
            Assert.Equal(kept, id == mine);
        }
    }

    private List<(string Name, Dictionary<string, object?> Tags, long Sum)> Collect(string name)
    {
        lock (_collecting)
        {
            lock (_metrics) _metrics.Clear();
            _host.Services.GetRequiredService<MeterProvider>().ForceFlush();
            List<(string, Dictionary<string, object?>, long)> points = [];
            foreach (var metric in Metrics().Where(m => m.Name == name))
                foreach (ref readonly var p in metric.GetMetricPoints())
                {
                    var tags = new Dictionary<string, object?>();
                    foreach (var t in p.Tags) tags[t.Key] = t.Value;
                    points.Add((metric.Name, tags, p.GetSumLong()));
                }
            return points;
        }
    }

    private List<Metric> Metrics()
    {
        lock (_metrics) return [.. _metrics];
    }

    private List<Activity> Snapshot()
    {
        lock (_spans) return [.. _spans];
    }
}
