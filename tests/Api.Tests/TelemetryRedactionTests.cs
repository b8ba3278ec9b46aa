using System.Diagnostics;
using HealthEvents.Api.Hosting;

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
}
