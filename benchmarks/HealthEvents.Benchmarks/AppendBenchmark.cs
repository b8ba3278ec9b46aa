using System.Diagnostics;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// The default benchmark (no subcommand, or `append`): append throughput of the PostgreSQL event store against raw INSERT
/// baselines of identical rows, all measured in one run on one private, durable PostgreSQL (DESIGN.md "Scale and speed");
/// then, when HEALTHEVENTS_ESDB names an EventStoreDB server, the EventStoreDB store against raw gRPC appends.
/// </summary>
public static class AppendBenchmark
{
    /// <param name="measure">Measured time per case, split into interleaved slices of about a second.</param>
    /// <param name="warmup">Unmeasured time per case first (JIT, caches, pools).</param>
    public static async Task<int> RunAsync(TimeSpan measure, TimeSpan warmup, CancellationToken ct)
    {
        var database = await BenchDatabase.StartAsync("bench", ct);
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxAutoPrepare = 32 }.ConnectionString;
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var setup = await Setup.PrepareAsync(dataSource, ct);

            var kinds = new (string Name, Func<int, Worker> Create)[]
            {
                (Cases.RawSingle, w => new RawSingleRowWorker(dataSource, setup.Shape, w)),
                (Cases.RawBatched, w => new RawBatchWorker(dataSource, setup.Shape, w)),
                (Cases.StoreAlone, w => new StoreAppendWorker(setup.StoreAlone, setup.Shape, w)),
                (Cases.Store, w => new StoreAppendWorker(setup.Store, setup.Shape, w)),
            };
            var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
            var slice = measure / slices;
            Console.Error.WriteLine(
                $"{setup.ServerVersion}; fsync={setup.Fsync}, synchronous_commit={setup.SynchronousCommit}; {Environment.ProcessorCount} cores; " +
                $"{measure.TotalSeconds:0.#} s per case ({slices} interleaved slices) after {warmup.TotalSeconds:0.#} s warm-up each; event: " +
                $"{setup.Shape.Data.Length} B data, {setup.Shape.Metadata.Length} B metadata, {setup.Shape.Endorsement.Length} B endorsement");

            var results = new List<CaseResult>();
            var total = Stopwatch.StartNew();
            foreach (var clients in new[] { 1, 16 })
            {
                if (ct.IsCancellationRequested) break;
                await setup.ResetAsync(ct);
                var cases = new List<Harness.Case>();
                try
                {
                    foreach (var (name, create) in kinds)
                    {
                        var workers = Enumerable.Range(0, clients).Select(create).ToArray();
                        cases.Add(new Harness.Case(name, clients, workers));
                        foreach (var w in workers) await w.OpenAsync(ct);
                    }
                    Console.Error.Write($"{clients} client(s): warming up");
                    foreach (var c in cases)
                    {
                        await Harness.RunSliceAsync(c, warmup, record: false, ct); // JIT, caches, pools
                        Console.Error.Write($" [{c.Name}]");
                    }
                    Console.Error.WriteLine();
                    for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
                    {
                        foreach (var c in cases) await Harness.RunSliceAsync(c, slice, record: true, ct);
                        Console.Error.WriteLine(
                            $"  {clients} client(s), slice {round}/{slices} ({total.Elapsed.TotalSeconds:0} s): " +
                            string.Join(" | ", cases.Select(c => $"{c.Name} {Harness.Rate(c)} rows/s")));
                    }
                    results.AddRange(cases.Select(c => c.Result()));
                }
                finally
                {
                    foreach (var w in cases.SelectMany(c => c.Workers)) await w.DisposeAsync();
                }
            }
            Console.Error.WriteLine($"done in {total.Elapsed.TotalSeconds:0} s");

            Report.Print(results, setup, measure);
            await setup.Store.DisposeAsync();
            await setup.StoreAlone.DisposeAsync();
            // The same cases on EventStoreDB when HEALTHEVENTS_ESDB names a server, with its own raw baseline; else why not.
            var esdb = ct.IsCancellationRequested ? 0 : await EventStoreDbBenchmark.RunOrExplainAsync(measure, warmup, ct);
            return ct.IsCancellationRequested ? 130 : esdb;
        }
        finally
        {
            await database.DisposeAsync();
        }
    }
}
