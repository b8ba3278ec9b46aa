using System.Text.Json.Serialization;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

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

    /// <param name="Cluster">On EventStoreDB: the cluster as its gossip reports it (a single node reports itself); absent otherwise.</param>
    public sealed record HealthStatus(
        string Status, IReadOnlyDictionary<string, string> Checks,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClusterStatus? Cluster = null);

    /// <summary>
    /// The EventStoreDB cluster for operators: the leader's endpoint (host:port, null while an election runs), and
    /// every member with its state as the server names it (Leader, Follower, Unknown for a node the others lost, ...)
    /// and whether the others see it alive, as the node at <paramref name="AnsweredBy"/> gossips it.
    /// </summary>
    public sealed record ClusterStatus(string? Leader, IReadOnlyList<ClusterMemberStatus> Members, string AnsweredBy);

    public sealed record ClusterMemberStatus(string Endpoint, string State, bool Alive);

    public static Ok<HealthStatus> Live() => TypedResults.Ok(new HealthStatus("live", new Dictionary<string, string>()));

    /// <summary>
    /// Ready when both stores answer: the event store, and PostgreSQL for read models and data keys (the same server by
    /// default); 503 otherwise. A projection that keeps failing on one event is reported as stalled — its name, the
    /// position and the exception type, never the data — and the node is then "degraded": commands still work, views lag.
    /// So is a network stream that fails verification (<see cref="NetworkDirectory.Untrusted"/>: stream, version, code).
    /// A projection that skipped unreadable events (written past the service) says how many, and stays ready; so does one
    /// that parked events it failed on alone (the last as stream@version: its row in <c>readmodels.mt_doc_parkedevent</c> says why).
    /// On EventStoreDB the answer also carries <see cref="ClusterStatus"/> from gossip (absent when no node gossips;
    /// readiness itself is the event store's answer to a read on the leader).
    /// </summary>
    public static async Task<Results<Ok<HealthStatus>, JsonHttpResult<HealthStatus>>> Ready(
        IEventStore store, NpgsqlDataSource database, HealthEvents.Projections.Runner.ProjectionRunner runner, IServiceProvider services,
        CancellationToken ct)
    {
        var checks = new Dictionary<string, string>
        {
            ["eventStore"] = await store.IsHealthyAsync(ct) ? "ok" : "unreachable",
            ["database"] = await DatabaseAnswersAsync(database, ct) ? "ok" : "unreachable",
        };
        ClusterStatus? cluster = null;
        if (services.GetService<EventStoreDbEventStore>() is { } esdb)
        {
            var gossip = await esdb.ReadClusterAsync(ct);
            cluster = gossip is null ? null : new ClusterStatus(gossip.Leader?.Endpoint,
                [.. gossip.Members.Select(m => new ClusterMemberStatus(m.Endpoint, m.State, m.IsAlive))], gossip.AnsweredBy);
        }
        var healthy = checks.Values.All(v => v == "ok");
        var stalled = runner.Status.Where(p => p.Stalled).ToList();
        foreach (var p in stalled)
            checks[$"projection:{p.Name}"] = $"stalled at {p.FailingPosition?.ToString() ?? "start"} ({p.LastErrorType})";
        // Skipped events do not make the node degraded (the view moved on), but an operator must see them: run verify.
        // Parked events neither: the view went past each, but lacks it until the cause is fixed and the view rebuilt.
        foreach (var p in runner.Status.Where(p => (p.UnreadableEvents > 0 || p.ParkedEvents > 0) && !p.Stalled))
            checks[$"projection:{p.Name}"] = string.Join("; ", new[]
            {
                p.UnreadableEvents > 0 ? $"skipped {p.UnreadableEvents} unreadable event(s); run verify" : null,
                p.ParkedEvents > 0 ? $"parked {p.ParkedEvents} event(s) it failed on, the last {p.LastParked}; see readmodels.mt_doc_parkedevent, then rebuild" : null,
            }.OfType<string>());
        // A network stream that fails verification: the directory stops before it (members, keys as endorsed), say where.
        var untrusted = services.GetService<NetworkDirectory>()?.Untrusted;
        if (untrusted is not null) checks["network"] = $"untrusted from {untrusted.StreamId}@{untrusted.Version} ({untrusted.Code})";
        var degraded = stalled.Count > 0 || untrusted is not null;
        var status = new HealthStatus(!healthy ? "unavailable" : degraded ? "degraded" : "ready", checks, cluster);
        return healthy ? TypedResults.Ok(status) : TypedResults.Json(status, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<bool> DatabaseAnswersAsync(NpgsqlDataSource database, CancellationToken ct)
    {
        try
        {
            await using var command = database.CreateCommand("SELECT 1");
            return await command.ExecuteScalarAsync(ct) is 1;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return false;
        }
    }
}
