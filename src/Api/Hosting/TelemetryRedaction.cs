using System.Diagnostics;
using System.Text.RegularExpressions;
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
/// </list>
/// A processor: it must be added before every exporter (<see cref="Observability.AddObservability"/>). Exception events
/// (<c>Activity.AddException</c>: Npgsql records one for a failed command) keep the exception's type as their
/// <c>exception.message</c>, never its message, which may quote a value (<see cref="ListenForExceptions"/>).
/// </summary>
public sealed partial class TelemetryRedaction : BaseProcessor<Activity>
{
    private static readonly Lazy<ActivityListener> ExceptionListener = new(() =>
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            // Asked before the event is made: a message given here is kept, so the exception's own is never added.
            ExceptionRecorder = (Activity _, Exception exception, ref TagList tags) =>
                tags.Add("exception.message", exception.GetType().FullName),
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    /// <summary>Makes every exception event in this process carry the exception's type as its message (once per process).</summary>
    public static void ListenForExceptions() => _ = ExceptionListener.Value;

    private static readonly string[] Removed =
        ["url.path", "url.query", "client.address", "client.port", "network.peer.address", "network.peer.port", "user_agent.original"];

    public override void OnEnd(Activity activity)
    {
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
