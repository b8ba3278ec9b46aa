using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.TestSupport;

/// <summary>
/// One private PostgreSQL per test process (started on first use, stopped at exit); every test
/// class takes a fresh database of its own, so tests never see each other's events.
/// </summary>
public static class TestPostgres
{
    private static readonly Lazy<Task<LocalPostgres>> Server = new(StartAsync);

    public static async Task<LocalPostgres> InstanceAsync() => await Server.Value;

    /// <summary>A new, empty database; returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var server = await Server.Value;
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using var conn = new NpgsqlConnection(server.ConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
        await cmd.ExecuteNonQueryAsync();
        return server.ConnectionString(name);
    }

    private static async Task<LocalPostgres> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "healthevents-test-pg-" + Environment.ProcessId);
        var server = await LocalPostgres.StartAsync(dir, durable: false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.StopAsync().GetAwaiter().GetResult();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return server;
    }
}
