using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// The PostgreSQL the service uses: ConnectionStrings:Postgres when set, otherwise a private instance of the data
/// folder (its cluster in the folder, or where <see cref="ClusterFolder"/> says) that the service starts, supervises
/// and, on shutdown, stops. Supervision: every second the instance is
/// checked; when it has died it is started again on the same port (crash recovery from its WAL), with a back-off of
/// 1, 2, 4 … 30 s between failed attempts. Meanwhile requests that need it answer 503 with Retry-After (the problem
/// handler), readiness says "unavailable", and shutdown is clean whatever state the instance is in.
/// </summary>
public sealed class PostgresHosting(string connectionString, LocalPostgres? embedded) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _supervisor = Task.CompletedTask;
    private ILogger? _log;

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

        var local = await LocalPostgres.StartAsync(await ClusterFolder.ResolveAsync(dataFolder, log, ct), durable: true, log, ct);
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

    /// <summary>Where supervision logs (the host's logger, once it exists).</summary>
    public PostgresHosting WithLogger(ILogger log)
    {
        _log = log;
        return this;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (embedded is not null && !(embedded.Reused && !StopReusedServer)) _supervisor = SuperviseAsync(embedded, _stopping.Token);
        return Task.CompletedTask;
    }

    private async Task SuperviseAsync(LocalPostgres server, CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(failures == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures - 1, 5))), ct);
                if (server.IsRunning)
                {
                    failures = 0;
                    continue;
                }
                _log?.LogWarning("The private PostgreSQL is not running; starting it again");
                await server.RestartAsync(ct);
                failures = 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                _log?.LogError("Restarting the private PostgreSQL failed ({ExceptionType}), attempt {Attempt}", e.GetType().Name, failures);
            }
        }
    }

    // Registered first, so the host stops it last: after projections and requests have finished.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _supervisor;
        if (embedded is not null && (!embedded.Reused || StopReusedServer)) await embedded.StopAsync();
    }
}
