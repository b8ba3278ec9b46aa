using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>A private, durable PostgreSQL with an empty "bench" database, stopped and removed when disposed.</summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private readonly LocalPostgres _server;

    private BenchDatabase(LocalPostgres server, string dataDir)
    {
        _server = server;
        DataDir = dataDir;
        ConnectionString = server.ConnectionString("bench");
    }

    public string DataDir { get; }
    public string ConnectionString { get; }

    public static async Task<BenchDatabase> StartAsync(string name, CancellationToken ct)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"healthevents-{name}-" + Guid.NewGuid().ToString("N")[..12]);
        Console.Error.WriteLine($"Starting a private durable PostgreSQL in {dataDir} ...");
        // Not cancellable: pg_ctl stopped half-way could leave a postmaster that has not yet written the pid file a stop
        // looks for. A few seconds; Ctrl+C meanwhile is seen right after, with a server to stop.
        LocalPostgres server;
        try
        {
            server = await LocalPostgres.StartAsync(Path.Combine(dataDir, "pg"), durable: true, ct: CancellationToken.None);
        }
        catch
        {
            RemoveFolder(dataDir);
            throw;
        }
        try
        {
            ct.ThrowIfCancellationRequested();
            await using var admin = new NpgsqlConnection(server.ConnectionString());
            await admin.OpenAsync(ct);
            await using var create = new NpgsqlCommand("CREATE DATABASE bench", admin);
            await create.ExecuteNonQueryAsync(ct);
        }
        catch
        {
            await server.StopAsync();
            RemoveFolder(dataDir);
            throw;
        }
        return new BenchDatabase(server, dataDir);
    }

    public async ValueTask DisposeAsync()
    {
        Console.Error.WriteLine("Stopping the private PostgreSQL ...");
        NpgsqlConnection.ClearAllPools();
        await _server.StopAsync();
        RemoveFolder(DataDir);
    }

    private static void RemoveFolder(string dataDir)
    {
        try
        {
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"could not remove {dataDir}: {e.Message}");
        }
    }
}
