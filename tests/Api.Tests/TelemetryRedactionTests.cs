using System.Diagnostics;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Telemetry;
using OpenTelemetry.Trace;

namespace HealthEvents.Api.Tests;

/// <summary>What the redaction leaves of a database statement and of an exception event (the service's own spans are covered by <see cref="ObservabilityTests"/>).</summary>
public sealed class TelemetryRedactionTests
{
    [Theory]
    [InlineData("NOTIFY he_audit_rows, 'a11ce000-0000-4000-8000-000000000001'", "NOTIFY he_audit_rows, '?'")]
    [InlineData("SELECT 'it''s' || E'a\\'b' FROM t WHERE x = $1 AND y = $2", "SELECT '?' || '?' FROM t WHERE x = $1 AND y = $2")]
    [InlineData("DO $body$ BEGIN RAISE NOTICE 'Alice'; END $body$; SELECT $$Bob$$", "DO '?'; SELECT '?'")]
    public void String_literals_leave_the_query_text(string sql, string sanitized) =>
        Assert.Equal(sanitized, TelemetryRedaction.Sanitize(sql));

    [Fact]
    public void An_exception_event_names_the_type_never_the_message()
    {
        TelemetryRedaction.ListenForExceptions();
        using var source = new ActivitySource("HealthEvents.Tests.Redaction");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        using var activity = source.StartActivity("failing")!;
        activity.AddException(new InvalidOperationException("invalid input syntax for type uuid: \"Alice Demo\""));

        var tags = Assert.Single(activity.Events).Tags.ToDictionary(t => t.Key, t => t.Value?.ToString());
        Assert.Equal(typeof(InvalidOperationException).FullName, tags["exception.message"]);
        Assert.Equal(typeof(InvalidOperationException).FullName, tags["exception.type"]);
    }

    /// <summary>
    /// An endorser call the round called off once the policy was met (<see cref="CommandTelemetry.Cancelling"/>): the HTTP
    /// call under it that fails by the cancellation is exported as cancelled, not as an error; the same failure under a
    /// call still wanted stays an error.
    /// </summary>
    [Theory]
    [InlineData(true, ActivityStatusCode.Unset)]
    [InlineData(false, ActivityStatusCode.Error)]
    public void A_call_cancelled_because_the_policy_was_met_is_not_an_error(bool calledOff, ActivityStatusCode exported)
    {
        using var source = new ActivitySource("HealthEvents.Tests.Cancelled");
        List<Activity> spans = [];
        using (OpenTelemetry.Sdk.CreateTracerProviderBuilder()
                   .AddSource(HealthEventsTelemetry.SourceName, source.Name)
                   .AddProcessor(new TelemetryRedaction())
                   .AddInMemoryExporter(spans)
                   .Build())
        {
            using var endorse = CommandTelemetry.StartEndorse("riverside")!;
            using (var call = source.StartActivity("POST", ActivityKind.Client)!)
            {
                if (calledOff) CommandTelemetry.Cancelling(endorse);
                call.SetTag("error.type", typeof(TaskCanceledException).FullName);
                call.SetStatus(ActivityStatusCode.Error);
            }
        }

        var http = Assert.Single(spans, s => s.OperationName == "POST");
        Assert.Equal(exported, http.Status);
        Assert.Equal(calledOff ? null : typeof(TaskCanceledException).FullName, http.GetTagItem("error.type"));
    }
}
