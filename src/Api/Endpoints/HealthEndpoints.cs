using HealthEvents.Application.EventStore;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        health.MapGet("/live", Live);
        health.MapGet("/ready", Ready);
        return app;
    }

    public sealed record HealthStatus(string Status, IReadOnlyDictionary<string, string> Checks);

    public static Ok<HealthStatus> Live() => TypedResults.Ok(new HealthStatus("live", new Dictionary<string, string>()));

    /// <summary>Ready when the event store answers (on PostgreSQL it is also the read-model database).</summary>
    public static async Task<Results<Ok<HealthStatus>, JsonHttpResult<HealthStatus>>> Ready(IEventStore store, CancellationToken ct)
    {
        var healthy = await store.IsHealthyAsync(ct);
        var status = new HealthStatus(healthy ? "ready" : "unavailable",
            new Dictionary<string, string> { ["eventStore"] = healthy ? "ok" : "unreachable" });
        return healthy ? TypedResults.Ok(status) : TypedResults.Json(status, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
