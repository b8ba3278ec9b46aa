using System.Diagnostics;
using System.Globalization;
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

    private const string FolderPrefix = "healthevents-test-pg-";

    private static async Task<LocalPostgres> StartAsync()
    {
        SweepCrashedRuns();
        var dir = Path.Combine(Path.GetTempPath(), FolderPrefix + Environment.ProcessId);
        var server = await LocalPostgres.StartAsync(dir, durable: false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.StopAsync().GetAwaiter().GetResult();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return server;
    }

    /// <summary>
    /// A test process that crashed (or was killed by a CI timeout) never ran its exit handler: its PostgreSQL keeps
    /// running and its folder (hundreds of MB) stays. The next run ends the server (fast shutdown, SIGINT, as
    /// <c>pg_ctl stop -m fast</c>) and removes the folder of every run whose process is gone.
    /// </summary>
    private static void SweepCrashedRuns()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)[FolderPrefix.Length..], out var owner) || IsAlive(owner)) continue;
            try
            {
                var postmaster = Path.Combine(dir, "postmaster.pid");
                if (File.Exists(postmaster) && int.TryParse(File.ReadLines(postmaster).FirstOrDefault(), out var server)
                    && IsAlive(server) && Process.GetProcessById(server).ProcessName.StartsWith("postgres", StringComparison.Ordinal))
                {
                    using var stop = Process.Start("kill", ["-INT", server.ToString(CultureInfo.InvariantCulture)]);
                    stop.WaitForExit();
                    Process.GetProcessById(server).WaitForExit(TimeSpan.FromSeconds(30));
                }
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // Another run may be sweeping the same folder, or the server is still going down: the next run tries again.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try { return !Process.GetProcessById(pid).HasExited; }
        catch (ArgumentException) { return false; }
    }
}
