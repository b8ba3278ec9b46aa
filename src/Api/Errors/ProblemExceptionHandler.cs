using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Serialization;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace HealthEvents.Api.Errors;

/// <summary>
/// Turns every failure into RFC 9457 problem details. Messages come from our own rule texts, which
/// carry no personal data; anything unexpected is a bare 500 whose details stay out of the response.
/// </summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var problem = exception switch
        {
            ValidationException v => Validation(v),
            RejectedException r => Rejection(r.Rejection),
            PatientForgottenException => Problem(StatusCodes.Status409Conflict, "Patient forgotten",
                "The patient has been forgotten; nothing can be recorded for them.", "patient-forgotten"),
            // The command's events exist already (a retry after a lost answer, or a key reused across streams).
            DuplicateEventIdException => Problem(StatusCodes.Status409Conflict, "Command already applied",
                "This command id (Idempotency-Key) was already applied; it is recorded once.", "command-already-applied"),
            // The database is down or restarting (the supervisor brings the private one back): retry shortly.
            _ when StoreUnavailable(exception) => Unavailable(http),
            ConcurrencyConflictException => Conflict(http),
            // Hundreds of commands already queue for this one stream on this node: come back shortly (Retry-After below).
            StreamBusyException => Problem(StatusCodes.Status503ServiceUnavailable, "Stream busy",
                "Too many commands are waiting for this record on this node; nothing was recorded. Retry shortly.", "stream-busy"),
            // Someone wrote past the service into this stream: refuse to decide on it and say where, never what.
            DamagedStreamException { Hidden: true } d => Problem(StatusCodes.Status409Conflict, "Stream damaged",
                $"The stream no longer serves its events from version {d.Version} on (its history is hidden, not absent); nothing was recorded. " +
                "An operator must run verify on it.", "damaged-stream"),
            // The stream reads, but the ledger holds other events: the signed tree heads are the hospitals' word on what it held.
            DamagedStreamException { LedgerMismatch: true } d when d.StreamId == Application.Ledger.LedgerStream.StreamId => Problem(
                StatusCodes.Status409Conflict, "Ledger damaged",
                $"The ledger's latest signed tree heads (from version {d.Version} of the ledger stream) do not check, so this node cannot prove the record under them; nothing was recorded. " +
                "An operator must run verify.", "damaged-stream"),
            DamagedStreamException { LedgerMismatch: true } d => Problem(StatusCodes.Status409Conflict, "Stream damaged",
                $"The stream's event at version {d.Version} is not the one the ledger's signed tree heads hold (rewritten past the service, or the ledger edited); nothing was recorded. " +
                "An operator must run verify on it.", "damaged-stream"),
            DamagedStreamException d => Problem(StatusCodes.Status409Conflict, "Stream damaged",
                $"The stream holds an event at version {d.Version} that this service did not write or cannot read; nothing was recorded. " +
                "An operator must run verify on it.", "damaged-stream"),
            UnreadableEventException => Problem(StatusCodes.Status409Conflict, "Stream damaged",
                "The history holds an event that this service did not write or cannot read. An operator must run verify.", "damaged-stream"),
            // This node's ledger view is behind the signed heads (a rebuild): it decides nothing it cannot prove until it catches up.
            LedgerUnprovableException => Problem(StatusCodes.Status503ServiceUnavailable, "Ledger view behind",
                "This node cannot prove the record under the ledger's signed tree heads until its ledger view catches up; nothing was recorded. Retry shortly.",
                "ledger-view-behind"),
            // The store's network starts with another founding than this node pinned: it acts on nobody's word until an operator looks.
            HealthEvents.Application.Network.GenesisMismatchException => Problem(StatusCodes.Status503ServiceUnavailable, "Network genesis mismatch",
                "The store's network history does not start with the founding this node trusts; it records nothing.", "genesis-mismatch"),
            EndorsementPolicyNotMetException e => Problem(StatusCodes.Status503ServiceUnavailable, "Endorsement policy not met",
                string.Join("; ", e.Reasons), "endorsement-policy-not-met"),
            BadHttpRequestException { InnerException: System.Text.Json.JsonException { Path: { } path } } => MalformedField(path),
            BadHttpRequestException b when BoundParameter(b) is { } parameter => MalformedParameter(parameter),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => Problem(StatusCodes.Status413PayloadTooLarge,
                "Request body too large", $"The request body exceeds this route's limit{LimitOf(http)}.", "body-too-large"),
            BadHttpRequestException b => Problem(b.StatusCode, "Malformed request", "The request body could not be read as the expected JSON.", "malformed-request"),
            _ => null,
        };
        if (problem is null)
        {
            // The exception type only: messages of foreign exceptions may quote data.
            log.LogError("Unhandled {ExceptionType} on {Method} {Route}", exception.GetType().Name, http.Request.Method,
                // The exception handler has cleared the request's endpoint by now; the feature keeps the one that failed.
                (http.Features.Get<IExceptionHandlerFeature>()?.Endpoint as RouteEndpoint)?.RoutePattern.RawText
                ?? (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)");
            problem = Problem(500, "Internal error", "The request failed; nothing was recorded unless a receipt was returned.", "internal-error");
        }
        http.Response.StatusCode = problem.Status ?? 500;
        // Every 503 is passing (an endorser away, the database restarting): say when to come back.
        if (problem.Status == StatusCodes.Status503ServiceUnavailable && !http.Response.Headers.ContainsKey("Retry-After"))
            http.Response.Headers.RetryAfter = "2";
        return await problems.TryWriteAsync(new() { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>
    /// Whether the failure is a store being away (down, restarting, refusing connections), anywhere in the chain
    /// of causes (Marten wraps Npgsql's): a connection-level NpgsqlException, a server error of class 08 (connection)
    /// or 57P (operator intervention: shutdown, starting up), or EventStoreDB unavailable or without a leader.
    /// </summary>
    private static bool StoreUnavailable(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            // EventStoreDB unreachable, or a cluster between leaders (an election): passing.
            if (e is HealthEvents.Infrastructure.EventStoreDb.EventStoreDbUnavailableException
                or HealthEvents.Infrastructure.EventStoreDb.EventStoreDbNotLeaderException) return true;
            if (e is Npgsql.PostgresException pg) return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal);
            if (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException) return true;
        }
        return false;
    }

    /// <summary>" of 8 MiB": the body limit in force on this request (the route's own, else the server's), so a client can tell.</summary>
    private static string LimitOf(HttpContext http) =>
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize switch
        {
            null => "",
            var b when b % (1024 * 1024) == 0 => $" of {b / (1024 * 1024)} MiB",
            var b when b % 1024 == 0 => $" of {b / 1024} KiB",
            var b => $" of {b} bytes",
        };

    /// <summary>The stream kept moving under the command: nothing was recorded, and the same command may simply be sent again shortly.</summary>
    private static ProblemDetails Conflict(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status409Conflict, "Concurrency conflict",
            "The patient's record kept changing while the command was decided; nothing was recorded. Retry the command.", "concurrency-conflict");
    }

    private static ProblemDetails Unavailable(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "5";
        return Problem(StatusCodes.Status503ServiceUnavailable, "Store unavailable",
            "The store does not answer right now; nothing was recorded unless a receipt was returned. Retry shortly.", "store-unavailable");
    }

    private static ProblemDetails Validation(ValidationException v)
    {
        var errors = v.Errors
            .GroupBy(e => Camel(e.PropertyName))
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray());
        return new HttpValidationProblemDetails(errors)
        {
            Status = 400, Title = "Invalid command", Detail = "One or more fields are invalid; nothing was recorded.",
            Type = "https://healthevents.example/problems/invalid-command",
        };
    }

    /// <summary>
    /// The parameter a binding failure names ("Failed to bind parameter "long? limit" from "…"", "Required parameter
    /// "string x" was not provided"): its name only — the message also quotes the value, which stays out of the answer.
    /// </summary>
    private static string? BoundParameter(BadHttpRequestException b) =>
        System.Text.RegularExpressions.Regex.Match(b.Message, "^(?:Failed to bind|Required) parameter \"(?:[^\"]* )?([A-Za-z0-9_]+)\"") is { Success: true } m
            ? m.Groups[1].Value
            : null;

    private static ProblemDetails MalformedParameter(string parameter) =>
        new HttpValidationProblemDetails(new Dictionary<string, string[]> { [parameter] = ["Is missing, malformed or out of range."] })
        {
            Status = 400, Title = "Invalid request", Detail = "A route or query parameter could not be read; nothing was recorded.",
            Type = "https://healthevents.example/problems/invalid-parameter",
        };

    /// <summary>A JSON body with a wrong type or an unknown field: named by its path, never by its value.</summary>
    private static ProblemDetails MalformedField(string jsonPath)
    {
        var field = jsonPath.TrimStart('$').TrimStart('.');
        return new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [field.Length == 0 ? "body" : field] = ["Has the wrong type, is malformed, or is not a field of this request."],
        })
        {
            Status = 400, Title = "Malformed request", Detail = "The request body does not match the expected JSON; nothing was recorded.",
            Type = "https://healthevents.example/problems/malformed-request",
        };
    }

    private static ProblemDetails Rejection(Rejection r) => Problem(r.Kind switch
    {
        RejectionKind.Invalid => 400,
        RejectionKind.Forbidden => 403,
        RejectionKind.NotFound => 404,
        _ => 409,
    }, r.Kind.ToString(), r.Message, r.Code);

    public static ProblemDetails Problem(int status, string title, string detail, string code) => new()
    {
        Status = status, Title = title, Detail = detail,
        Type = $"https://healthevents.example/problems/{code}",
        Extensions = { ["code"] = code },
    };

    private static string Camel(string property) =>
        string.Join('.', property.Split('.').Select(p => p.Length == 0 ? p : char.ToLowerInvariant(p[0]) + p[1..]));
}
