using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// The PostgreSQL the service uses: ConnectionStrings:Postgres when set, otherwise a private
/// instance under the data folder that the service starts and, on shutdown, stops.
/// </summary>
public sealed class PostgresHosting(string connectionString, LocalPostgres? embedded) : IHostedService
{
    /// <summary>
    /// False for one-off verbs: a server they found running belongs to a service that may be serving
    /// right now, so they leave it running. The service itself takes over a server left by a crash.
    /// </summary>
    public bool StopReusedServer { get; init; } = true;

    public const string DatabaseName = "healthevents";

    public string ConnectionString { get; } = connectionString;

    public static async Task<PostgresHosting> ResolveAsync(IConfiguration configuration, string dataFolder, ILogger log, CancellationToken ct = default)
    {
        var stopReused = !configuration.GetValue("HealthEvents:Verb", false);
        if (configuration.GetConnectionString("Postgres") is { Length: > 0 } external)
            return new PostgresHosting(external, null);

        var local = await LocalPostgres.StartAsync(Path.Combine(dataFolder, "postgres"), durable: true, log, ct);
        await using (var conn = new NpgsqlConnection(local.ConnectionString()))
        {
            await conn.OpenAsync(ct);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", conn);
            exists.Parameters.AddWithValue("n", DatabaseName);
            if (await exists.ExecuteScalarAsync(ct) is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", conn);
                await create.ExecuteNonQueryAsync(ct);
            }
        }
        return new PostgresHosting(local.ConnectionString(DatabaseName), local) { StopReusedServer = stopReused };
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Registered first, so the host stops it last: after projections and requests have finished.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (embedded is not null && (!embedded.Reused || StopReusedServer)) await embedded.StopAsync();
    }
}
