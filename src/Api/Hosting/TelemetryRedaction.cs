using System.Diagnostics;
using System.Text.RegularExpressions;
using HealthEvents.Application.Telemetry;
using OpenTelemetry;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// Keeps personal data out of every exported span, whichever library made it. Our own spans carry only safe attributes
/// (<see cref="Application.Telemetry.HealthEventsTelemetry.Tags"/>); the standard instrumentations record more:
/// <list type="bullet">
/// <item>HTTP server spans: the path and query (<c>url.path</c>, <c>url.query</c>: <c>/patients/{id}/…</c> holds a patient
/// id) and the caller's address and user agent are removed; <c>http.route</c>, the template, stays (and names the span).</item>
/// <item>HTTP client spans (endorser calls, the tests' own clients): <c>url.full</c> keeps scheme, host and port only.</item>
/// <item>Database spans: string literals in <c>db.query.text</c> become <c>'?'</c> (OpenTelemetry's semantic conventions
/// for database spans: "sanitized" query text) — parameters are never recorded, but a statement may inline a value
/// (<c>NOTIFY channel, '&lt;patient id&gt;'</c>).</item>
/// <item>Server spans: the caller's W3C <c>tracestate</c> is dropped as the span starts (so no span of the request, and
/// no call it makes, carries it on), and <c>server.address</c>/<c>server.port</c>, read from the caller's <c>Host</c>
/// header, are removed, and so is <c>http.request.method_original</c>: a method outside the standard ones is the
/// caller's text (the span keeps <c>http.request.method</c> <c>_OTHER</c>).</item>
/// <item>A span that failed by cancellation inside an endorser call the round called off once its policy was met
/// (<see cref="CommandTelemetry.Cancelling"/>): not an error (status unset, <c>healthevents.outcome</c> cancelled).</item>
/// <item>Npgsql spans outside any span (the projections' polling): not recorded unless asked (the constructor's setting).</item>
/// </list>
/// A processor: it must be added before every exporter (<see cref="Observability.AddObservability"/>). Exception events
/// (<c>Activity.AddException</c>: Npgsql records one for a failed command) keep the exception's type as their
/// <c>exception.message</c>, never its message, which may quote a value, and as <c>exception.stacktrace</c> the types
/// and frames of the exception and its inner ones, never their messages (<see cref="ListenForExceptions"/>). A span with
/// an exception event written another way (by hand, with the message or <c>ToString()</c>) is not exported: an event's
/// attributes cannot be changed once it is added.
/// </summary>
/// <param name="traceUnparentedDatabaseCalls">
/// Whether a database call outside any span (the projections' polling, a few thousand a minute at idle) is a trace of
/// its own; off by default (<see cref="Observability.UnparentedDatabaseSpansSetting"/>): such calls are not recorded.
/// </param>
public sealed partial class TelemetryRedaction(bool traceUnparentedDatabaseCalls = false) : BaseProcessor<Activity>
{
    /// <summary>The ActivitySource of Npgsql's command spans.</summary>
    public const string NpgsqlSource = "Npgsql";

    private static bool IsCancellation(Activity activity) =>
        IsCancellationType(activity.GetTagItem("error.type") as string)
        || activity.Events.Any(e => e.Name == "exception" && e.Tags.Any(t => t.Key == "exception.type" && IsCancellationType(t.Value as string)));

    private static bool IsCancellationType(string? type) =>
        type is not null && (type.EndsWith(nameof(OperationCanceledException), StringComparison.Ordinal)
                             || type.EndsWith(nameof(TaskCanceledException), StringComparison.Ordinal));

    /// <summary>Whether an enclosing span in this process is an endorser call the round called off (<see cref="CommandTelemetry.Cancelling"/>).</summary>
    private static bool UnderCancelledEndorsement(Activity activity)
    {
        for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
            if (parent.Source.Name == HealthEventsTelemetry.SourceName && parent.OperationName == "endorse")
                return Equals(parent.GetTagItem(HealthEventsTelemetry.Tags.Outcome), EndorseOutcome.Cancelled);
        return false;
    }

    private static readonly string[] Removed =
        ["url.path", "url.query", "client.address", "client.port", "network.peer.address", "network.peer.port", "user_agent.original"];

    // Read by ASP.NET Core from the request's Host header and request line: the caller's text, not this server's name.
    // HTTP takes any token as a method; one the semantic conventions do not know is recorded as _OTHER, with the
    // caller's text beside it in http.request.method_original.
    private static readonly string[] RemovedFromServerSpans = ["server.address", "server.port", "http.request.method_original"];

    public override void OnStart(Activity activity)
    {
        // Not recorded, so no exporter gets it (they skip an activity whose Recorded flag is off).
        if (!traceUnparentedDatabaseCalls && activity.Source.Name == NpgsqlSource && activity.ParentSpanId == default)
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            activity.IsAllDataRequested = false;
            return;
        }
        // The caller's vendor state is theirs: not ours to export, nor to pass on to endorsers (children copy it as they start).
        if (activity is { Kind: ActivityKind.Server, HasRemoteParent: true, TraceStateString: not null })
            activity.TraceStateString = null;
    }

    public override void OnEnd(Activity activity)
    {
        if (activity.Status == ActivityStatusCode.Error && IsCancellation(activity) && UnderCancelledEndorsement(activity))
        {
            // The round had its signatures and called this endorser off: expected, not a failure.
            activity.SetStatus(ActivityStatusCode.Unset);
            activity.SetTag("error.type", null);
            activity.SetTag(HealthEventsTelemetry.Tags.Outcome, EndorseOutcome.Cancelled);
        }
        if (activity.Kind == ActivityKind.Server)
            foreach (var key in RemovedFromServerSpans)
                if (activity.GetTagItem(key) is not null) activity.SetTag(key, null);
        // An event's attributes cannot be changed once added: a span with an exception event this process did not make
        // (a message, or a stack trace that is ToString()) is not exported at all rather than exported with it.
        if (activity.Events.Any(e => e.Name == "exception" && !IsRedacted(e)))
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            return;
        }
        foreach (var key in Removed)
            if (activity.GetTagItem(key) is not null) activity.SetTag(key, null);
        if (activity.GetTagItem("url.full") is string url)
            activity.SetTag("url.full", Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : null);
        if (activity.GetTagItem("db.query.text") is string sql)
            activity.SetTag("db.query.text", Sanitize(sql));
    }

    /// <summary>The statement with every string literal ('…', E'…', $tag$…$tag$) replaced by <c>'?'</c>.</summary>
    public static string Sanitize(string sql) => Literal().Replace(sql, "'?'");

    // A quoted literal (doubled quotes and, in E'…', backslash escapes inside) or a dollar-quoted one.
    [GeneratedRegex(@"[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$([A-Za-z_][A-Za-z0-9_]*|)\$.*?\$\1\$", RegexOptions.Singleline)]
    private static partial Regex Literal();
}
