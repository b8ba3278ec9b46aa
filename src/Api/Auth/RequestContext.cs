using System.Diagnostics;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Auth;

public static class RequestContext
{
    /// <summary>The authenticated caller. Endpoints behind RequireAuthorization always have one.</summary>
    public static Actor Actor(this HttpContext http) =>
        Tokens.ActorOf(http.User) ?? throw new InvalidOperationException("An authenticated request without an actor.");

    /// <summary>
    /// The command's ids: an Idempotency-Key header (a UUID) names the command id with the caller and the key claim's
    /// nonce, so a retried request derives the same event ids and is not recorded twice, while the key reused after it
    /// expired is a new command. A retry whose earlier attempt went unanswered is marked
    /// <see cref="CommandContext.EarlierAttempt"/>: its events may be stored already.
    /// </summary>
    public static CommandContext Command(this HttpContext http)
    {
        // A malformed key never gets here: Idempotency answers it with a 400. The command id is the caller's key, per caller.
        var actor = http.Actor();
        var claim = http.Items[typeof(IdempotencyClaim.Claimed)] as IdempotencyClaim.Claimed;
        var commandId = claim is not null && Guid.TryParse(http.Request.Headers[Hosting.Idempotency.Header], out var key)
            ? DeterministicIds.CommandId($"{actor.Hospital}/{actor.Id}/{claim.Nonce:N}", key)
            : Guid.NewGuid();
        var correlationId = Guid.TryParse(http.Request.Headers["X-Correlation-Id"], out var c) ? c
            : Activity.Current is { } activity ? new Guid(Convert.FromHexString(activity.TraceId.ToHexString())) : Guid.NewGuid();
        // The token's validity travels with the command: every endorser checks the command's time falls within it.
        return new CommandContext(actor, commandId, correlationId, Tokens.PeriodOf(http.User), claim?.EarlierAttempt ?? false);
    }
}
