using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// Exception events (OpenTelemetry semantic conventions, "Exceptions"): whoever records one through
/// <c>Activity.AddException</c> — Npgsql, the instrumentations, our code — gets the exception's type as
/// <c>exception.message</c> and its types and frames as <c>exception.stacktrace</c>, never a message.
/// </summary>
public sealed partial class TelemetryRedaction
{
    private static readonly Lazy<ActivityListener> ExceptionListener = new(() =>
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            // Asked before the event is made: a message given here is kept, so the exception's own is never added.
            ExceptionRecorder = (Activity _, Exception exception, ref TagList tags) =>
            {
                tags.Add(ExceptionMessage, exception.GetType().FullName);
                tags.Add(ExceptionStacktrace, Remember(Frames(exception)));
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    /// <summary>Makes every exception event in this process carry the exception's type as its message (once per process).</summary>
    public static void ListenForExceptions() => _ = ExceptionListener.Value;

    private const string ExceptionMessage = "exception.message";
    private const string ExceptionStacktrace = "exception.stacktrace";

    // The stack traces this process made (by reference): a span with any other in an exception event is not exported.
    private static readonly ConditionalWeakTable<string, object> Made = [];

    private static string Remember(string stacktrace)
    {
        Made.AddOrUpdate(stacktrace, Made);
        return stacktrace;
    }

    /// <summary>
    /// The exception's type and frames (<c>Exception.StackTrace</c>: methods, files and lines), then each inner exception's
    /// after <c>---&gt;</c>, as <c>ToString()</c> lays them out but without a single message.
    /// </summary>
    public static string Frames(Exception exception)
    {
        var text = new StringBuilder();
        Append(exception, 0);
        return text.ToString().TrimEnd();

        void Append(Exception e, int depth)
        {
            text.Append(e.GetType().FullName).Append('\n');
            if (depth >= 8) return; // a cause chain this deep says nothing more
            var inner = e is AggregateException a ? a.InnerExceptions : e.InnerException is { } i ? [i] : (IReadOnlyList<Exception>)[];
            foreach (var cause in inner)
            {
                text.Append(" ---> ");
                Append(cause, depth + 1);
                text.Append("   --- End of inner exception stack trace ---\n");
            }
            if (e.StackTrace is { } frames) text.Append(frames).Append('\n');
        }
    }

    /// <summary>Whether an exception event says nothing but types and frames (the type as its message, a stack trace made here).</summary>
    private static bool IsRedacted(ActivityEvent e)
    {
        object? type = null, message = null, trace = null;
        foreach (var (key, value) in e.Tags)
            switch (key)
            {
                case "exception.type": type = value; break;
                case ExceptionMessage: message = value; break;
                case ExceptionStacktrace: trace = value; break;
            }
        return (message is null || Equals(message, type)) && (trace is null || trace is string made && Made.TryGetValue(made, out _));
    }
}
