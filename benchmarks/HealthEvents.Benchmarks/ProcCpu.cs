namespace HealthEvents.Benchmarks;

/// <summary>
/// CPU time as Linux accounts it, read from /proc (proc(5)): utime + stime of this process's threads, of a PostgreSQL
/// server's processes, and of the whole machine. Units: seconds (/proc counts clock ticks of 1/100 s, USER_HZ).
/// </summary>
public static class ProcCpu
{
    private const double TicksPerSecond = 100; // USER_HZ: fixed at 100 for /proc on every Linux architecture .NET runs on

    /// <summary>One reading: CPU seconds of each of this process's threads (by OS thread id, with its name), of the
    /// PostgreSQL server (the postmaster, its live children and its reaped ones), and the machine's busy seconds.</summary>
    public sealed record Reading(Dictionary<int, (string Name, double Seconds)> Threads, double Process, double ProcessSystem, double Postgres, double MachineBusy, DateTime At);

    public static Reading Read(int? postmaster) => new(Threads(), Process(Environment.ProcessId), Stat("/proc/self/stat")?.SystemSeconds ?? 0, postmaster is { } p ? Tree(p) : 0, MachineBusy(), DateTime.UtcNow);

    /// <summary>The postmaster's process id from <c>postmaster.pid</c> under <paramref name="folder"/> (first line), if any.</summary>
    public static int? Postmaster(string folder) =>
        Directory.EnumerateFiles(folder, "postmaster.pid", SearchOption.AllDirectories).Select(f => int.Parse(File.ReadLines(f).First()))
            .Cast<int?>().FirstOrDefault();

    private static Dictionary<int, (string, double)> Threads()
    {
        var threads = new Dictionary<int, (string, double)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
            if (Stat(Path.Combine(dir, "stat")) is { } s) threads[s.Pid] = (s.Name, s.Seconds);
        return threads;
    }

    private static double Process(int pid) => Stat($"/proc/{pid}/stat")?.Seconds ?? 0;

    // The postmaster with its reaped children (cutime + cstime) and its live ones: backends come and go with connections.
    private static double Tree(int postmaster)
    {
        var total = Stat($"/proc/{postmaster}/stat") is { } root ? root.Seconds + root.ChildrenSeconds : 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out _) && Stat(Path.Combine(dir, "stat")) is { } s && s.Parent == postmaster) total += s.Seconds;
        return total;
    }

    // /proc/stat's first line: user nice system idle iowait irq softirq steal ...; busy is everything but idle and iowait.
    private static double MachineBusy()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Select(long.Parse).ToArray();
        return (f.Take(8).Sum() - f[3] - f[4]) / TicksPerSecond;
    }

    private sealed record ProcStat(int Pid, string Name, int Parent, double Seconds, double ChildrenSeconds, double SystemSeconds);

    // proc(5) stat: "pid (comm) state ppid ..." — comm may hold spaces and parentheses, so fields count from the last ')'.
    // After it: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    private static ProcStat? Stat(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; } // it ended meanwhile
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open) return null;
        var f = text[(close + 2)..].Split(' ');
        return new(int.Parse(text[..open].Trim()), text[(open + 1)..close], int.Parse(f[1]),
            (long.Parse(f[11]) + long.Parse(f[12])) / TicksPerSecond, (long.Parse(f[13]) + long.Parse(f[14])) / TicksPerSecond, long.Parse(f[12]) / TicksPerSecond);
    }
}
