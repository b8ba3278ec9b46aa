using System.Diagnostics;

namespace HealthEvents.Benchmarks;

public sealed record CaseResult(string Name, int Clients, int RowsPerOperation, long Operations, double Seconds, double P50Ms, double P99Ms)
{
    public double OperationsPerSecond => Operations / Seconds;
    public double RowsPerSecond => Operations * (double)RowsPerOperation / Seconds;
}

/// <summary>
/// The cases of one concurrency level run interleaved, in slices of about a second (raw, batched, store, raw, ...),
/// and each case sums its slices: on a shared machine, load that drifts during the run then hits every case alike.
/// Workers (connections, stream versions) live across slices; only operations wholly inside a slice count.
/// </summary>
public static class Harness
{
    public sealed class Case(string name, int clients, Worker[] workers)
    {
        public string Name { get; } = name;
        public int Clients { get; } = clients;
        public Worker[] Workers { get; } = workers;
        public long Operations { get; set; }
        public double Seconds { get; set; }
        public List<long> Latencies { get; } = [];

        public CaseResult Result()
        {
            var sorted = Latencies.Order().ToArray();
            return new CaseResult(Name, Clients, Workers[0].RowsPerOperation, Operations, Seconds,
                Percentile(sorted, 0.50), Percentile(sorted, 0.99));
        }
    }

    /// <summary>Runs every case for <paramref name="slice"/>; counts the slice when <paramref name="record"/>.</summary>
    public static async Task RunSliceAsync(Case c, TimeSpan slice, bool record, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(slice.TotalSeconds * Stopwatch.Frequency);
        var runs = c.Workers.Select(w => Task.Run(async () =>
        {
            var latencies = new List<long>(4096);
            while (!ct.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (t0 >= end) break;
                await w.RunOnceAsync(ct);
                var t1 = Stopwatch.GetTimestamp();
                if (t1 <= end) latencies.Add(t1 - t0);
            }
            return latencies;
        }, CancellationToken.None)).ToArray();
        var all = await Task.WhenAll(runs);
        if (!record) return;
        foreach (var l in all)
        {
            c.Operations += l.Count;
            c.Latencies.AddRange(l);
        }
        c.Seconds += slice.TotalSeconds;
    }

    /// <summary>Rows/s of one case so far, for progress lines.</summary>
    public static string Rate(Case c) =>
        c.Seconds == 0 ? "-" : $"{c.Operations * (double)c.Workers[0].RowsPerOperation / c.Seconds:N0}";

    private static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN
            : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
}

public static class Report
{
    public static void Print(IReadOnlyList<CaseResult> results, Setup setup, TimeSpan measure)
    {
        Console.WriteLine();
        Console.WriteLine($"HealthEvents append benchmark: {setup.ServerVersion}, fsync={setup.Fsync}, synchronous_commit={setup.SynchronousCommit}, " +
                          $"{Environment.ProcessorCount} cores, {measure.TotalSeconds:0.#} s per case");
        Console.WriteLine($"rows: {setup.Shape.Data.Length} B data, {setup.Shape.Metadata.Length} B metadata, {setup.Shape.Endorsement.Length} B endorsement, same table layout");
        Console.WriteLine();
        Console.WriteLine($"{"case",-26} {"clients",7} {"tx/s",9} {"rows/s",9} {"p50 ms",7} {"p99 ms",7} {"vs 1-row",9} {"vs batched",10}");
        Console.WriteLine(new string('-', 90));
        foreach (var r in results)
        {
            var single = results.FirstOrDefault(b => b.Name == Cases.RawSingle && b.Clients == r.Clients);
            var batched = results.FirstOrDefault(b => b.Name == Cases.RawBatched && b.Clients == r.Clients);
            Console.WriteLine(
                $"{r.Name,-26} {r.Clients,7} {r.OperationsPerSecond,9:N0} {r.RowsPerSecond,9:N0} {r.P50Ms,7:0.00} {r.P99Ms,7:0.00} " +
                $"{Ratio(r, single),9} {Ratio(r, batched),10}");
        }
        Console.WriteLine();
        foreach (var name in new[] { Cases.RawSingle, Cases.StoreAlone, Cases.Store })
        {
            var one = results.FirstOrDefault(r => r.Name == name && r.Clients == 1);
            var many = results.FirstOrDefault(r => r.Name == name && r.Clients == 16);
            if (one is not null && many is not null)
                Console.WriteLine($"scaling 16 vs 1 client, {name}: {many.RowsPerSecond / one.RowsPerSecond:0.0}x");
        }
        Console.WriteLine("ratios: rows/s of the case divided by rows/s of the raw baseline at the same number of clients");
    }

    private static string Ratio(CaseResult r, CaseResult? baseline) =>
        baseline is null || baseline.RowsPerSecond == 0 ? "-" : $"{r.RowsPerSecond / baseline.RowsPerSecond:0.00}";
}
