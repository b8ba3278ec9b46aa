using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// A private PostgreSQL instance under a data folder, started from the installed server binaries:
/// the embedded default when no connection string is configured, and what the tests run against.
/// Root may not run the server, so as root every server command runs as the postgres user.
/// <para>
/// Only its owner reaches it: it listens on 127.0.0.1, where every connection needs the superuser's password
/// (SCRAM-SHA-256, RFC 7677), kept in <see cref="PasswordFile"/> inside the 0700 cluster folder; and on a Unix socket in
/// that same folder, where only the server's user and root can connect, without a password — how the password is set.
/// </para>
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    private readonly string _binDir;
    private readonly ILogger _log;
    private bool _stopped;

    private LocalPostgres(string dataDir, string binDir, int port, ILogger log, bool reused = false)
    {
        Reused = reused;
        DataDir = dataDir;
        _binDir = binDir;
        Port = port;
        _log = log;
    }

    public string DataDir { get; }

    /// <summary>Found already running on this data folder (a crashed service's, or one serving now).</summary>
    public bool Reused { get; }
    public int Port { get; }

    /// <summary>The file in the cluster folder that holds the superuser's password (hex, 0600).</summary>
    public const string PasswordFile = "healthevents.password";

    private string _password = "";

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Password={_password};Database={database};Pooling=true;Maximum Pool Size=100";

    /// <param name="durable">false turns fsync off: for throw-away test instances only.</param>
    public static async Task<LocalPostgres> StartAsync(string dataDir, bool durable = true, ILogger? log = null, CancellationToken ct = default)
    {
        log ??= NullLogger.Instance;
        var binDir = FindBinaries();
        dataDir = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(dataDir);
        if (ServerProcess.IsRoot) await ServerProcess.RunAsync("chown", ["-R", $"{ServerProcess.User}:{ServerProcess.User}", dataDir], asServerUser: false, ct);

        if (!File.Exists(Path.Combine(dataDir, "PG_VERSION")))
        {
            log.LogInformation("Initialising a private PostgreSQL cluster in {DataDir}", dataDir);
            await ServerProcess.RunAsync(Path.Combine(binDir, "initdb"),
                ["-D", dataDir, "--auth-local=trust", "--auth-host=trust", "-U", "postgres", "-E", "UTF8", "--no-instructions"], asServerUser: true, ct);
        }
        // Before the server reads it: the address needs the password from the start (and a cluster made before this
        // rule, all "trust", gets it too — its running server on the reload below).
        ClusterAccess.RequirePasswordOverTcp(dataDir);

        LocalPostgres instance;
        if (RunningPort(dataDir) is { } running)
        {
            log.LogInformation("Reusing the private PostgreSQL already running on port {Port}", running);
            instance = new LocalPostgres(dataDir, binDir, running, log, reused: true);
        }
        else
        {
            instance = new LocalPostgres(dataDir, binDir, FreePort(), log) { _durable = durable };
        }
        try
        {
            if (!instance.Reused)
            {
                await instance.StartServerAsync(ct);
                log.LogInformation("Private PostgreSQL started on 127.0.0.1:{Port}", instance.Port);
            }
            instance._password = await ClusterAccess.SetPasswordAsync(dataDir, instance.Port, ct);
            return instance;
        }
        catch when (!instance.Reused)
        {
            // Interrupted (Ctrl+C) or failed once the server may be up: the caller never gets the instance to dispose,
            // so the server this call started is stopped here rather than left running on its own.
            await instance.StopAsync();
            throw;
        }
    }

    private bool _durable = true;

    /// <summary>Whether the server of this data folder is running (its postmaster process lives).</summary>
    public bool IsRunning => RunningPort(DataDir) is not null;

    /// <summary>
    /// Starts the server again after it died, on the same port (the connection strings in use name it), in
    /// crash recovery from its write-ahead log: nothing committed is lost.
    /// </summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        if (_stopped || IsRunning) return;
        // A postmaster killed outright leaves its pid file; pg_ctl refuses to start while it is there.
        var pidFile = Path.Combine(DataDir, "postmaster.pid");
        if (File.Exists(pidFile)) File.Delete(pidFile);
        await StartServerAsync(ct);
        _log.LogWarning("Private PostgreSQL restarted on 127.0.0.1:{Port}", Port);
    }

    private Task StartServerAsync(CancellationToken ct)
    {
        var options = $"-c listen_addresses=127.0.0.1 -p {Port} -k {DataDir} -c max_connections=300" +
                      (_durable ? "" : " -c fsync=off -c full_page_writes=off");
        return ServerProcess.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", DataDir, "-l", Path.Combine(DataDir, "server.log"), "-w", "-t", "60", "-o", options, "start"],
            asServerUser: true, ct);
    }

    /// <summary>Stops the server; whatever state it is in (already dead, say), this returns without throwing.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        if (!IsRunning) return;
        try
        {
            await ServerProcess.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "stop"], asServerUser: true, CancellationToken.None);
            _log.LogInformation("Private PostgreSQL stopped");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            _log.LogWarning("Stopping the private PostgreSQL failed ({ExceptionType}); it may already have stopped", e.GetType().Name);
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>The newest installed server: HEALTHEVENTS_PG_BIN, else /usr/lib/postgresql/N/bin.</summary>
    public static string FindBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("HEALTHEVENTS_PG_BIN");
        if (!string.IsNullOrEmpty(configured)) return configured;
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .ToList()
            : [];
        return candidates.FirstOrDefault() ?? throw new InvalidOperationException(
            "No PostgreSQL server binaries found: install them (apt-get install -y postgresql, as ./run.sh does) " +
            "or set ConnectionStrings__Postgres.");
    }

    /// <summary>The port of a server already running on this data folder (postmaster.pid line 4), if its process lives.</summary>
    private static int? RunningPort(string dataDir)
    {
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        if (!File.Exists(pidFile)) return null;
        var lines = File.ReadAllLines(pidFile);
        if (lines.Length < 4 || !int.TryParse(lines[0], out var pid) || !int.TryParse(lines[3], out var port)) return null;
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited ? null : port;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
