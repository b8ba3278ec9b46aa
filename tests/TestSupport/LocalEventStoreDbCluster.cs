using System.Collections.Concurrent;
using System.Diagnostics;

namespace HealthEvents.TestSupport;

/// <summary>
/// A real EventStoreDB cluster of a test's own, from the distribution in <c>../shared/eventstoredb</c> (or the folder
/// <c>HEALTHEVENTS_ESDB_DIST</c> names): <c>start.sh --cluster N</c> on free loopback ports, its pid files and logs in a
/// run folder private to this instance (<c>ESDB_RUN_ROOT</c>), so stopping it — all of it when disposed, or one node
/// for a failover — touches no other run's nodes. The election settings are widened for busy machines
/// (<see cref="ElectionArguments"/>).
/// <para>
/// It is supervised from its start until disposed, as by the process supervisor a production cluster runs under (systemd, or docker's
/// restart policy; <see cref="SuperviseAsync"/>): EventStoreDB 22.10 ends a node whose log holds writes the new leader never got ("offline
/// truncation") and counts on being started again. A node that exits without being stopped on purpose is started
/// again with the very command line start.sh gave it; being in memory, it comes back empty and catches up from the
/// leader.
/// </para>
/// </summary>
public sealed class LocalEventStoreDbCluster : IAsyncDisposable
{
    public const string DistributionVariable = "HEALTHEVENTS_ESDB_DIST";

    /// <summary>
    /// Passed through <c>ESDB_EXTRA_ARGS</c>: heartbeats and gossip that tolerate a node starved of CPU for a couple of
    /// seconds (defaults: 700 ms heartbeat timeout, 2.5 s gossip timeout, 1 s election timeout), so two busy cores do not
    /// make elections flap. A stopped node still drops its connections at once, which is how its death is seen.
    /// </summary>
    public const string ElectionArguments =
        "--int-tcp-heartbeat-interval=1000 --int-tcp-heartbeat-timeout=4000 --gossip-interval-ms=1000 --gossip-timeout-ms=5000 --leader-election-timeout-ms=3000";

    private readonly string _distribution;
    private readonly string _runRoot;
    private readonly Dictionary<int, string[]> _commands = [];
    private readonly ConcurrentDictionary<int, bool> _stoppedOnPurpose = new();
    private readonly CancellationTokenSource _supervision = new();
    private Task _supervisor = Task.CompletedTask;

    private LocalEventStoreDbCluster(string distribution, string runRoot, int port, string connectionString, int nodes)
    {
        _distribution = distribution;
        _runRoot = runRoot;
        Port = port;
        ConnectionString = connectionString;
        NodePorts = Enumerable.Range(port, nodes).ToList();
    }

    /// <summary>The first node's port (the others follow it).</summary>
    public int Port { get; }

    public IReadOnlyList<int> NodePorts { get; }

    /// <summary>What the supervisor did: a line per node restarted, with the end of its log before it exited.</summary>
    public ConcurrentQueue<string> Incidents { get; } = new();

    private string RunFolder => Path.Combine(_runRoot, $"eventstoredb-{Port}");
    private string PidFile(int node) => Path.Combine(RunFolder, $"node-{node}.pid");

    /// <summary>esdb://127.0.0.1:P,127.0.0.1:P+1,...?tls=false</summary>
    public string ConnectionString { get; }

    /// <summary>The distribution folder holding start.sh, or null (with the reason) when there is none here.</summary>
    public static string? FindDistribution(out string reason)
    {
        var configured = Environment.GetEnvironmentVariable(DistributionVariable);
        var folder = configured is { Length: > 0 } ? configured : RepositorySibling("shared", "eventstoredb");
        if (folder is not null && File.Exists(Path.Combine(folder, "start.sh")))
        {
            reason = "";
            return Path.GetFullPath(folder);
        }
        reason = $"no EventStoreDB distribution here (../shared/eventstoredb/start.sh, or {DistributionVariable}): no cluster to test against";
        return null;
    }

    /// <summary>
    /// Starts <paramref name="nodes"/> nodes with start.sh and hands the cluster out once it has formed: a leader, every other
    /// node alive and following it (<see cref="WaitUntilFormedAsync"/>; a node still joining could not help elect the next).
    /// <para>
    /// The cluster is supervised from its first second (<see cref="SuperviseAsync"/>), not only once formed: during the
    /// first elections EventStoreDB 22.10 shuts down a node that wrote an epoch the winner never saw ("offline
    /// truncation"), and on a starved machine a node can fail to bind its port in time. start.sh reports either as a
    /// failed start, but each node's command line is recorded while start.sh runs, so such a node is simply started
    /// again, as systemd would, and the cluster forms. Only a cluster that never forms (or whose nodes could not all
    /// be seen running) counts as a failed start, which is tried again on other ports, three times in all; the error
    /// then names every attempt's reason.
    /// </para>
    /// </summary>
    public static async Task<LocalEventStoreDbCluster> StartAsync(string distribution, int nodes = 3)
    {
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var runRoot = Path.Combine(Path.GetTempPath(), "he-esdb-cluster-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(runRoot);
            var commands = new ConcurrentDictionary<int, string[]>();
            using var started = new CancellationTokenSource();
            var recording = RecordCommandsAsync(runRoot, commands, started.Token);
            var (code, _, errors) = await RunAsync(distribution, runRoot, "start.sh", "--cluster", nodes.ToString());
            await started.CancelAsync();
            await recording;
            var port = Directory.GetDirectories(runRoot, "eventstoredb-*").Select(d => int.Parse(Path.GetFileName(d)["eventstoredb-".Length..])).FirstOrDefault();
            var hosts = string.Join(',', Enumerable.Range(port, nodes).Select(p => $"127.0.0.1:{p}"));
            var cluster = new LocalEventStoreDbCluster(distribution, runRoot, port, $"esdb://{hosts}?tls=false", nodes);
            if (port > 0 && cluster.NodePorts.All(commands.ContainsKey))
            {
                foreach (var node in cluster.NodePorts) cluster._commands[node] = commands[node];
                cluster._supervisor = cluster.SuperviseAsync(cluster._supervision.Token);
                try
                {
                    await cluster.WaitUntilFormedAsync();
                    return cluster;
                }
                catch (Xunit.Sdk.FailException e) // never formed, even with its nodes started again: another attempt
                {
                    errors = $"start.sh exit {code}: {errors}\n{e.Message}";
                }
            }
            else
            {
                errors = $"start.sh exit {code} before every node could be seen running: {errors}";
            }
            await cluster.DisposeAsync(); // whatever half of it runs
            failures.Add($"attempt {attempt}: {errors}");
        }
        throw new InvalidOperationException("The EventStoreDB cluster did not start:\n" + string.Join("\n", failures));
    }

    /// <summary>
    /// Until <paramref name="ct"/> is cancelled (start.sh has returned) and once more after, records the command line of
    /// every node start.sh launched under <paramref name="runRoot"/> (its pid file, then /proc/PID/cmdline), keyed by port.
    /// </summary>
    private static async Task RecordCommandsAsync(string runRoot, ConcurrentDictionary<int, string[]> commands, CancellationToken ct)
    {
        while (true)
        {
            foreach (var pidFile in Directory.GetFiles(runRoot, "node-*.pid", SearchOption.AllDirectories))
            {
                var port = int.Parse(Path.GetFileNameWithoutExtension(pidFile)["node-".Length..]);
                if (commands.ContainsKey(port) || !int.TryParse(ReadOrEmpty(pidFile), out var pid)) continue;
                var command = ReadOrEmpty($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (command.Length > 0) commands[port] = command;
            }
            if (ct.IsCancellationRequested) return;
            try { await Task.Delay(100, ct); } catch (OperationCanceledException) { }
        }
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ""; // not written yet, or the process is gone
        }
    }

    /// <summary>Waits (within <see cref="Patience.Deadline"/>) until gossip shows a leader and every other node alive as its follower.</summary>
    public async Task WaitUntilFormedAsync()
    {
        // A generous gossip timeout: a node starting on a starved machine may take seconds to answer.
        await using var gossip = new HealthEvents.Infrastructure.EventStoreDb.EventStoreDbEventStore(
            HealthEvents.Infrastructure.EventStoreDb.EventStoreDbSettings.Parse(ConnectionString),
            new HealthEvents.Infrastructure.EventStoreDb.EventStoreDbStoreOptions { HealthTimeout = TimeSpan.FromSeconds(10) });
        await Patience.UntilAsync(async () => await gossip.ReadClusterAsync().ConfigureAwait(false) is { } c
                && c.Members.Count(m => m.IsAlive && m.State is "Leader" or "Follower") == NodePorts.Count
                && c.Members.Count(m => m.IsLeader) == 1,
            () => "the cluster never had a leader with every other node following:\n" + string.Join("\n", NodePorts.Select(p => LogTail(p, 5))));
    }

    /// <summary>From its start until disposed, starts again (checking every half second) each node that exited without <see cref="StopNodeAsync"/>.</summary>
    private async Task SuperviseAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var node in NodePorts.Where(n => !_stoppedOnPurpose.ContainsKey(n) && !IsRunning(PidOf(n))))
                {
                    Incidents.Enqueue($"node {node} exited by itself and was started again; its log ended:\n{LogTail(node, 8)}");
                    await RestartAsync(node);
                }
                await Task.Delay(500, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private int PidOf(int node) => int.TryParse(File.Exists(PidFile(node)) ? File.ReadAllText(PidFile(node)).Trim() : "", out var pid) ? pid : 0;

    /// <summary>Alive and not a zombie (a zombie's command line is empty).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            return pid > 0 && File.ReadAllText($"/proc/{pid}/cmdline").Length > 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // gone
        }
    }

    /// <summary>As start.sh starts a node: in a session of its own, its output appended to its log, its pid recorded for stop.sh.</summary>
    private async Task RestartAsync(int node)
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("setsid \"$@\" >>\"$LOG\" 2>&1 </dev/null & echo $! >\"$PIDFILE\"");
        psi.ArgumentList.Add("bash");
        foreach (var a in _commands[node]) psi.ArgumentList.Add(a);
        psi.Environment["LOG"] = Path.Combine(RunFolder, $"node-{node}.log");
        psi.Environment["PIDFILE"] = PidFile(node);
        using var process = Process.Start(psi)!;
        await process.WaitForExitAsync();
    }

    /// <summary>Stops one node (SIGTERM, then SIGKILL after 10 s): a failover when it leads.</summary>
    public async Task StopNodeAsync(int nodePort)
    {
        _stoppedOnPurpose[nodePort] = true;
        var (code, _, errors) = await RunAsync(_distribution, _runRoot, "stop.sh", "--port", Port.ToString(), "--node", nodePort.ToString());
        if (code != 0) throw new InvalidOperationException($"stop.sh --node {nodePort} failed (exit {code}): {errors}");
    }

    /// <summary>
    /// Freezes one node (SIGSTOP): it keeps its connections and its port but answers nothing, as a node stalled by the
    /// machine does, until <see cref="ResumeNode"/>. The supervisor leaves a frozen node alone (it still runs).
    /// </summary>
    public void PauseNode(int nodePort) => Signal(nodePort, "STOP");

    /// <summary>Lets a node frozen by <see cref="PauseNode"/> run on (SIGCONT).</summary>
    public void ResumeNode(int nodePort) => Signal(nodePort, "CONT");

    private void Signal(int nodePort, string signal)
    {
        var pid = PidOf(nodePort);
        if (pid <= 0) throw new InvalidOperationException($"node {nodePort} has no pid recorded"); // never "kill 0": the whole group
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} of node {nodePort} failed (exit {kill.ExitCode})");
    }

    /// <summary>The tail of a node's log, for a failing test's message.</summary>
    public string LogTail(int nodePort, int lines = 20)
    {
        var log = Path.Combine(RunFolder, $"node-{nodePort}.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(lines)) : "(no log)";
    }

    /// <summary>Stops every node this instance started (by their recorded pids) and removes the run folder.</summary>
    public async ValueTask DisposeAsync()
    {
        await _supervision.CancelAsync(); // first: nothing may start a node again while they are stopped
        await _supervisor;
        _supervision.Dispose();
        if (Port > 0) await RunAsync(_distribution, _runRoot, "stop.sh", "--port", Port.ToString());
        try { Directory.Delete(_runRoot, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static async Task<(int Code, string Output, string Errors)> RunAsync(string distribution, string runRoot, string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(distribution, script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ESDB_RUN_ROOT"] = runRoot;
        psi.Environment["ESDB_EXTRA_ARGS"] = ElectionArguments;
        psi.Environment["ESDB_START_TIMEOUT"] = "240"; // generous: a busy machine starts three nodes slowly
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>A folder beside the repository (the folder holding HealthEvents.sln), or null.</summary>
    private static string? RepositorySibling(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HealthEvents.sln")))
                return dir.Parent is null ? null : Path.Combine([dir.Parent.FullName, .. parts]);
        return null;
    }
}
