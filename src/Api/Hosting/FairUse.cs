using System.Globalization;
using System.Threading.RateLimiting;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// Fair use (ASP.NET Core's rate limiter): each caller — the token's hospital and subject, or the client address
/// before authentication — has a token bucket of HealthEvents:RateLimit:PermitsPerSecond (default 50) refilled every
/// second, holding at most HealthEvents:RateLimit:Burst (default 200). Beyond it: 429 with Retry-After, and nothing is
/// decided, appended or recorded, so no caller can fill a patient's trail with denied attempts as fast as a node
/// accepts them. Liveness and readiness are never limited.
/// </summary>
public static class FairUse
{
    public static IServiceCollection AddFairUse(this IServiceCollection services, IConfiguration configuration)
    {
        var perSecond = Math.Max(1, configuration.GetValue("HealthEvents:RateLimit:PermitsPerSecond", 50));
        var burst = Math.Max(1, configuration.GetValue("HealthEvents:RateLimit:Burst", 200));
        return services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.Request.Path.StartsWithSegments("/health")
                    ? RateLimitPartition.GetNoLimiter("health")
                    : RateLimitPartition.GetTokenBucketLimiter(CallerOf(http), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = burst,
                        TokensPerPeriod = perSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            o.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status429TooManyRequests, "Too many requests",
                    "This caller sent more requests than its fair share; nothing was recorded. Retry after the time given.", "rate-limited"))
                    .ExecuteAsync(http);
            };
        });
    }

    /// <summary>The authenticated caller (hospital and subject), else the client address: one bucket each.</summary>
    private static string CallerOf(HttpContext http) =>
        http.Caller() is { } caller
            ? $"caller:{caller.Key}"
            : $"address:{http.Connection.RemoteIpAddress}";
}
