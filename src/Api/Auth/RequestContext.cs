using System.Diagnostics;
using System.Security.Claims;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Auth;

/// <summary>
/// The authenticated caller, read once from the validated bearer token: who acts, and when their credential is valid
/// (the token's not-before and expiry; null when the token lacks one, which authentication refuses).
/// </summary>
public sealed record Caller(Actor Actor, CredentialPeriod? Credential)
{
    /// <summary>The caller's name for per-caller state (idempotency keys, command ids, rate buckets): "hospital/subject".</summary>
    public string Key => $"{Actor.Hospital}/{Actor.Id}";
}

/// <summary>An Idempotency-Key header as parsed once by the idempotency middleware, and its claim by this request.</summary>
public sealed record IdempotencyKey(Guid Value, IdempotencyClaim.Claimed Claim);

public static class RequestContext
{
    /// <summary>
    /// Reads the caller from a signature-checked token's claims (null when incomplete) and keeps it for the rest of the
    /// request: authentication (<see cref="AuthSetup"/>) calls this once, and judges the token by it.
    /// </summary>
    public static Caller? ReadCaller(this HttpContext http, ClaimsPrincipal principal)
    {
        if (Tokens.ActorOf(principal) is not { } actor) return null;
        var caller = new Caller(actor, Tokens.PeriodOf(principal));
        http.Features.Set(caller);
        return caller;
    }

    /// <summary>The caller, once authentication accepted the token; null for an anonymous or refused request.</summary>
    public static Caller? Caller(this HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true ? http.Features.Get<Caller>() : null;

    /// <summary>The authenticated caller's actor. Endpoints behind RequireAuthorization always have one.</summary>
    public static Actor Actor(this HttpContext http) =>
        http.Caller()?.Actor ?? throw new InvalidOperationException("An authenticated request without an actor.");

    /// <summary>The header a caller names its correlation id in, and the service answers it in (every response).</summary>
    public const string CorrelationIdHeader = "X-Correlation-Id";

    /// <summary>
    /// The request's correlation id, the same for its whole life: the caller's <c>X-Correlation-Id</c> when it is a UUID
    /// (any other value is ignored and replaced); else the request's W3C trace id, byte for byte (big-endian, so its 32
    /// hex digits read the same), so the events a trace recorded are found by its id, and the trace by theirs.
    /// </summary>
    public static Guid CorrelationId(this HttpContext http)
    {
        if (http.Items[CorrelationIdHeader] is Guid known) return known;
        var id = Guid.TryParse(http.Request.Headers[CorrelationIdHeader], out var c) ? c
            : Activity.Current is { } activity ? new Guid(Convert.FromHexString(activity.TraceId.ToHexString()), bigEndian: true) : Guid.NewGuid();
        http.Items[CorrelationIdHeader] = id;
        return id;
    }

    /// <summary>Answers every request with its correlation id (<see cref="CorrelationIdHeader"/>), the one its events store.</summary>
    public static IApplicationBuilder UseCorrelationIdHeader(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var id = http.CorrelationId().ToString();
        http.Response.OnStarting(() =>
        {
            http.Response.Headers[CorrelationIdHeader] = id;
            return Task.CompletedTask;
        });
        return next(http);
    });

    /// <summary>
    /// The command's ids: an Idempotency-Key header (a UUID) names the command id with the caller and the key claim's
    /// nonce, so a retried request derives the same event ids and is not recorded twice, while the key reused after it
    /// expired is a new command. A retry whose earlier attempt went unanswered is marked
    /// <see cref="CommandContext.EarlierAttempt"/>: its events may be stored already.
    /// </summary>
    public static CommandContext Command(this HttpContext http)
    {
        var caller = http.Caller() ?? throw new InvalidOperationException("An authenticated request without an actor.");
        // A malformed key never gets here: the idempotency middleware answers it with a 400. The command id is the
        // caller's key, per caller and per claim of it.
        var idempotency = http.Features.Get<IdempotencyKey>();
        var commandId = idempotency is { } k ? DeterministicIds.CommandId($"{caller.Key}/{k.Claim.Nonce:N}", k.Value) : Guid.NewGuid();
        var correlationId = http.CorrelationId();
        // The token's validity travels with the command: every endorser checks the command's time falls within it.
        return new CommandContext(caller.Actor, commandId, correlationId, caller.Credential, idempotency?.Claim.EarlierAttempt ?? false);
    }
}
