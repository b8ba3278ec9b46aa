using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace HealthEvents.Benchmarks;

/// <summary>
/// A sampling CPU profile of this process (which hosts the service and its benchmark clients) over a window, with the
/// CPU of the service's PostgreSQL and of the whole machine over the same window.
///
/// Samples: an EventPipe session on our own process id (Microsoft.Diagnostics.NETCore.Client, the diagnostics IPC that
/// dotnet-trace uses) with the runtime's sample profiler (every managed thread's managed stack about every millisecond,
/// native frames not included) and JIT/loader events to name methods; read back with TraceEvent. A sample whose leaf frame
/// is a wait is off CPU and dropped. The CPU itself comes from /proc: each thread's utime + stime over the window is spread
/// evenly over that thread's running samples (a thread with none keeps its CPU under its own name: GC, JIT, the profiler),
/// and each sample goes to one area by <see cref="CpuAreas"/>. Blocking GC pauses stop every managed thread, so no sample
/// sees them: their wall time (<see cref="GC.GetTotalPauseDuration"/>, one core for workstation GC) is its own row, taken
/// out of the sampled threads' CPU in proportion.
/// </summary>
public sealed class CpuProfile : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly string _file;
    private readonly Task _copy;
    private readonly int? _postmaster;
    private ProcCpu.Reading? _from;
    private TimeSpan _pauseFrom;

    private CpuProfile(EventPipeSession session, string file, Task copy, int? postmaster)
    {
        (_session, _file, _copy, _postmaster) = (session, file, copy, postmaster);
    }

    /// <summary>One area's CPU: seconds in the window, of it the client's and the projections' (see <see cref="CpuAreas.Side"/>).</summary>
    public sealed record Area(string Name, double Seconds, double ClientSeconds, double ProjectionSeconds);

    /// <summary>The window's CPU seconds: this process by area, PostgreSQL, the machine; samples used; heaviest leaf methods.</summary>
    public sealed record Result(double WindowSeconds, List<Area> Areas, double Process, double ProcessSystem, double Postgres, double Machine,
        long RunningSamples, long WaitingSamples, List<(string Method, double Seconds)> Leaves);

    /// <summary>Starts the session (samples flow before this returns); <see cref="Begin"/> opens the window.</summary>
    public static async Task<CpuProfile> StartAsync(int? postmaster, CancellationToken ct)
    {
        var providers = new[]
        {
            new EventPipeProvider("Microsoft-DotNETCore-SampleProfiler", EventLevel.Informational),
            new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational,
                (long)(ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader | ClrTraceEventParser.Keywords.JittedMethodILToNativeMap)),
        };
        var session = await new DiagnosticsClient(Environment.ProcessId).StartEventPipeSessionAsync(providers, requestRundown: true, circularBufferMB: 256, ct);
        var file = Path.Combine(Path.GetTempPath(), $"healthevents-cpu-{Guid.NewGuid():N}.nettrace");
        var output = File.Create(file);
        var copy = Task.Run(async () => { await using (output) await session.EventStream.CopyToAsync(output, CancellationToken.None); }, CancellationToken.None);
        return new CpuProfile(session, file, copy, postmaster);
    }

    /// <summary>Opens the window: CPU counters and GC pause time now.</summary>
    public void Begin()
    {
        _pauseFrom = GC.GetTotalPauseDuration();
        _from = ProcCpu.Read(_postmaster);
    }

    /// <summary>Closes the window, stops the session and attributes the window's samples.</summary>
    public async Task<Result> FinishAsync(CancellationToken ct)
    {
        var to = ProcCpu.Read(_postmaster);
        var pause = (GC.GetTotalPauseDuration() - _pauseFrom).TotalSeconds;
        var from = _from ?? throw new InvalidOperationException("Begin was not called.");
        await _session.StopAsync(ct);
        await _copy;
        return await Task.Run(() => Attribute(from, to, pause), ct);
    }

    private Result Attribute(ProcCpu.Reading from, ProcCpu.Reading to, double pause)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(_file);
        var samples = new List<(int Thread, string Area, string? Side, string Leaf)>();
        long waiting = 0;
        // HEALTHEVENTS_CPU_STACKS=text prints a few running samples' stacks with a frame containing text (to refine the areas).
        var (show, shown) = (Environment.GetEnvironmentVariable("HEALTHEVENTS_CPU_STACKS"), 0);
        using (var log = new TraceLog(etlx))
        {
            var (start, end) = (from.At.ToLocalTime(), to.At.ToLocalTime());
            foreach (var e in log.Events)
            {
                if (e.ProviderName != "Microsoft-DotNETCore-SampleProfiler" || e.TimeStamp < start || e.TimeStamp > end) continue;
                var frames = new List<string>();
                for (var s = e.CallStack(); s is not null; s = s.Caller)
                    frames.Add($"{s.CodeAddress.ModuleName}!{s.CodeAddress.FullMethodName}");
                if (CpuAreas.Waiting(frames)) { waiting++; continue; }
                if (show is not null && shown < 4 && frames.Any(f => f.Contains(show, StringComparison.Ordinal)))
                    Console.Error.WriteLine($"sample on thread {e.ThreadID} ({++shown}):\n  " + string.Join("\n  ", frames.Take(40)));
                samples.Add((e.ThreadID, CpuAreas.Of(frames), CpuAreas.Side(frames), frames[0]));
            }
        }
        File.Delete(etlx);

        // Each thread's CPU in the window, spread over its running samples.
        var cpu = to.Threads.ToDictionary(t => t.Key, t => (t.Value.Name, Seconds: t.Value.Seconds - (from.Threads.TryGetValue(t.Key, out var f) ? f.Seconds : 0)));
        var perThread = samples.GroupBy(s => s.Thread).ToDictionary(g => g.Key, g => g.Count());
        var sampledCpu = cpu.Where(t => perThread.ContainsKey(t.Key)).Sum(t => t.Value.Seconds);
        var scale = sampledCpu > 0 ? Math.Max(0, sampledCpu - pause) / sampledCpu : 0;
        // A thread that ended within the window left no /proc entry: its samples weigh the average of the others'.
        var average = sampledCpu / Math.Max(1, samples.Count(s => cpu.ContainsKey(s.Thread)));
        var areas = new Dictionary<string, (double All, double Client, double Projections)>();
        void Add(string area, double seconds, string? side)
        {
            var a = areas.GetValueOrDefault(area);
            areas[area] = (a.All + seconds, a.Client + (side == "client" ? seconds : 0), a.Projections + (side == "projections" ? seconds : 0));
        }
        var leaves = new Dictionary<string, double>();
        foreach (var s in samples)
        {
            var w = scale * (cpu.TryGetValue(s.Thread, out var t) ? t.Seconds / perThread[s.Thread] : average);
            Add(s.Area, w, s.Side);
            leaves[s.Leaf] = leaves.GetValueOrDefault(s.Leaf) + w;
        }
        Add("GC (blocking pauses)", pause, null);
        foreach (var (_, (name, seconds)) in cpu.Where(t => !perThread.ContainsKey(t.Key) && t.Value.Seconds > 0))
            Add(UnsampledArea(name), seconds, null);

        var order = CpuAreas.All.ToList();
        return new Result((to.At - from.At).TotalSeconds,
            [.. areas.Select(a => new Area(a.Key, a.Value.All, a.Value.Client, a.Value.Projections))
                .OrderBy(a => order.IndexOf(a.Name) is var i && i < 0 ? int.MaxValue : i).ThenByDescending(a => a.Seconds)],
            to.Process - from.Process, to.ProcessSystem - from.ProcessSystem, to.Postgres - from.Postgres, to.MachineBusy - from.MachineBusy,
            samples.Count, waiting, [.. leaves.OrderByDescending(l => l.Value).Take(12).Select(l => (l.Key, l.Value))]);
    }

    // Threads no managed sample ran on: the runtime's own, by the name it gives them (15 characters at most on Linux).
    private static string UnsampledArea(string thread) => thread switch
    {
        _ when thread.Contains("GC", StringComparison.Ordinal) => "GC (background/server GC threads)",
        _ when thread.Contains("Tiered", StringComparison.Ordinal) => "JIT: tiered compilation",
        _ when thread.Contains("EventPipe", StringComparison.Ordinal) || thread.Contains("Diag", StringComparison.Ordinal) || thread.Contains("Sample", StringComparison.Ordinal)
            => "the profiler itself (EventPipe)",
        _ when thread.Contains("TP", StringComparison.Ordinal) || thread.Contains("Sockets", StringComparison.Ordinal) => CpuAreas.Idle,
        _ => $"other threads without managed samples",
    };

    public async ValueTask DisposeAsync()
    {
        _session.Dispose();
        try { await _copy; } catch (Exception e) when (e is IOException or ObjectDisposedException or EndOfStreamException) { }
        foreach (var f in new[] { _file, Path.ChangeExtension(_file, ".etlx") })
            if (File.Exists(f)) File.Delete(f);
    }
}
