using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Projections.Views.Audit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// The patient's new audit rows as they reach the audit view, as server-sent events (WHATWG HTML §9.2,
/// <c>text/event-stream</c>). Authenticated like every route — <c>Authorization: Bearer</c>, so the token never is in a
/// URL — and allowed to the patient alone, as <c>GET /patients/{id}/audit</c> is. The page reads it with fetch(), since
/// the browser's EventSource cannot send that header.
/// </summary>
public static class AuditLiveEndpoints
{
    /// <summary>The header a reconnecting client names its last event with (WHATWG HTML §9.2.4).</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>How long a client waits before reconnecting after the stream ends (the <c>retry</c> field of the first event).</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(3);

    /// <summary>When a refused stream may try again: long enough that a page left open elsewhere does not make it spin.</summary>
    private const int BusyRetryAfterSeconds = 30;

    /// <summary>Rows read at a time when catching up.</summary>
    private const int PageSize = 100;

    public static RouteGroupBuilder MapAuditLive(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/audit/live", Live);
        return patients;
    }

    /// <summary>
    /// Events: <c>ready</c> first (data <c>{"heartbeatSeconds"}</c>; its id the position the stream starts after), then
    /// <c>audit</c> per new row (data: the row exactly as <c>GET /patients/{id}/audit</c> gives it; id: its position), and
    /// <c>heartbeat</c> when quiet. With <c>Last-Event-ID</c> the stream resumes after that event, sending what came since;
    /// without, it starts at the newest row. The stream ends when the token expires or the service stops; the client then
    /// reconnects with the last id it saw. Errors (before any event): 400 <c>invalid-last-event-id</c>, 401, 403,
    /// 429 <c>too-many-live-streams</c> with Retry-After.
    /// </summary>
    public static async Task<Results<ServerSentEventsResult<object?>, ProblemHttpResult>> Live(
        Guid id, HttpContext http, AuditFeed feed, AuditQuery audit, ReadYourWrites fresh, IClock clock, IHostApplicationLifetime lifetime,
        ILoggerFactory logs, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id))
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", "Only the patient follows their audit trail.", "forbidden");
        var lastEventId = http.Request.Headers[LastEventIdHeader].ToString();
        if (lastEventId.Length > 0 && !AuditQuery.IsCursor(lastEventId))
            return Problem(StatusCodes.Status400BadRequest, "Invalid Last-Event-ID",
                "Last-Event-ID is not the id of an event of this stream; reconnect without it.", "invalid-last-event-id");
        // The stream lives no longer than the credential that opened it (the bearer handler tolerates a minute's skew; this does not).
        var left = Tokens.PeriodOf(http.User) is { } period ? period.Expires - clock.UtcNow : TimeSpan.Zero;
        if (left <= TimeSpan.Zero)
            return Problem(StatusCodes.Status401Unauthorized, "Token expired", "Your sign-in has expired; sign in again.", "token-expired");
        if (feed.Subscribe(id) is not { } subscription)
        {
            http.Response.Headers.RetryAfter = BusyRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status429TooManyRequests, "Too many live streams",
                "Too many live streams are open for this patient (or on this node); close another page, or retry after the time given.",
                "too-many-live-streams");
        }
        http.Response.RegisterForDispose(subscription); // released with the request, even if the stream never starts
        // "The newest row" is the patient's last event's, as the audit route would answer now.
        if (lastEventId.Length == 0) await fresh.WaitAsync(id, AuditProjection.ProjectionName, ct);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        stop.CancelAfter(left);
        http.Response.RegisterForDispose(stop);
        var log = logs.CreateLogger(typeof(AuditLiveEndpoints));
        return TypedResults.ServerSentEvents(Events(id, lastEventId.Length > 0 ? lastEventId : null, subscription, audit, feed.Options.Heartbeat, log, stop.Token));
    }

    private static async IAsyncEnumerable<SseItem<object?>> Events(
        Guid patientId, string? after, AuditSubscription subscription, AuditQuery audit, TimeSpan heartbeat, ILogger log,
        [EnumeratorCancellation] CancellationToken ct)
    {
        // Subscribed before the first read: a row committed from here on wakes the stream, none falls in between.
        if (after is null)
        {
            var newest = await PageAsync(() => audit.QueryAsync(patientId, limit: 1, ct: ct, newestFirst: true), log, ct);
            if (newest is null) yield break;
            after = newest.Items.Count > 0 ? AuditQuery.CursorOf(newest.Items[0]) : null;
        }
        yield return new SseItem<object?>(new { heartbeatSeconds = (int)Math.Ceiling(heartbeat.TotalSeconds) }, "ready")
        {
            EventId = after, ReconnectionInterval = Retry,
        };
        while (true)
        {
            var page = await PageAsync(() => audit.QueryAsync(patientId, cursor: after, limit: PageSize, ct: ct), log, ct);
            if (page is null) yield break;
            foreach (var row in page.Items)
            {
                after = AuditQuery.CursorOf(row);
                yield return new SseItem<object?>(row, "audit") { EventId = after };
            }
            if (page.Next is not null) continue; // still catching up
            var woken = await subscription.WaitAsync(heartbeat, ct);
            if (ct.IsCancellationRequested) yield break; // token expired, service stopping, client gone: end cleanly
            if (!woken) yield return new SseItem<object?>(null, "heartbeat");
        }
    }

    /// <summary>A read of the view, or null when the stream must end: cancelled, or the database away (the client reconnects later).</summary>
    private static async Task<AuditPage?> PageAsync(Func<Task<AuditPage>> read, ILogger log, CancellationToken ct)
    {
        try
        {
            return await read();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The type only: a driver's message may quote data.
            log.LogWarning("A live audit stream ended on a failed read ({ExceptionType})", e.GetType().Name);
            return null;
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string detail, string code) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(status, title, detail, code));
}
