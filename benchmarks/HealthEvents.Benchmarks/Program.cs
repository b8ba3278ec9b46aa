using System.Diagnostics;
using HealthEvents.Benchmarks;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;

// Append throughput of the PostgreSQL event store against raw INSERT baselines of identical rows, all
// measured in one run on one private, durable PostgreSQL (DESIGN.md "Scale and speed"); then, when
// HEALTHEVENTS_ESDB names an EventStoreDB server, the EventStoreDB store against raw gRPC appends.
//
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- [--seconds N] [--quick]
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- research [--events N]   (see ResearchBenchmark)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- proofs [--leaves N]     (see ProofBenchmark)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- fhir [--clients N]      (see FhirImportBenchmark)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- esdb [--connection C]   (see EventStoreDbMode)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- history [--events N]     (see HistoryBenchmark)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- commands [--seconds N]  (see CommandsBenchmark)
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- http [--seconds N]      (see HttpMode)

if (args.Length > 0 && args[0] is "research" or "proofs" or "fhir" or "esdb" or "history" or "commands" or "http")
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    return args[0] switch
    {
        "research" => await ResearchBenchmark.RunAsync(args[1..], stop.Token),
        "proofs" => await ProofBenchmark.RunAsync(args[1..], stop.Token),
        "esdb" => await EventStoreDbMode.RunAsync(args[1..], stop.Token),
        "history" => await HistoryBenchmark.RunAsync(args[1..], stop.Token),
        "commands" => await CommandsBenchmark.RunAsync(args[1..], stop.Token),
        "http" => await HttpMode.RunAsync(args[1..], stop.Token),
        _ => await FhirImportBenchmark.RunAsync(args[1..], stop.Token),
    };
}

var seconds = 10.0;
var quick = false;
var endorsement = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], out var s) && s > 0:
            seconds = s;
            i++;
            break;
        case "--quick":
            quick = true;
            break;
        case "--endorsement":
            endorsement = true;
            break;
        case "--help" or "-h":
            Console.WriteLine("usage: HealthEvents.Benchmarks [--seconds N (default 10, per case)] [--quick (2 s per case, 0.5 s warm-up)] [--endorsement (commands with 2-of-3 endorsement vs unendorsed)]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}' (try --help)");
            return 2;
    }
}
if (quick && !args.Contains("--seconds")) seconds = 2;
var measure = TimeSpan.FromSeconds(seconds);
var warmup = TimeSpan.FromSeconds(quick ? 0.5 : 2);

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
if (endorsement) return await EndorsementBenchmark.RunAsync(measure, cts.Token);

var database = await BenchDatabase.StartAsync("bench", cts.Token);
try
{
    var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxAutoPrepare = 32 }.ConnectionString;
    await using var dataSource = NpgsqlDataSource.Create(connectionString);
    var setup = await Setup.PrepareAsync(dataSource, cts.Token);

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
        if (cts.IsCancellationRequested) break;
        await setup.ResetAsync(cts.Token);
        var cases = new List<Harness.Case>();
        try
        {
            foreach (var (name, create) in kinds)
            {
                var workers = Enumerable.Range(0, clients).Select(create).ToArray();
                cases.Add(new Harness.Case(name, clients, workers));
                foreach (var w in workers) await w.OpenAsync(cts.Token);
            }
            Console.Error.Write($"{clients} client(s): warming up");
            foreach (var c in cases)
            {
                await Harness.RunSliceAsync(c, warmup, record: false, cts.Token); // JIT, caches, pools
                Console.Error.Write($" [{c.Name}]");
            }
            Console.Error.WriteLine();
            for (var round = 1; round <= slices && !cts.IsCancellationRequested; round++)
            {
                foreach (var c in cases) await Harness.RunSliceAsync(c, slice, record: true, cts.Token);
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
    var esdb = cts.IsCancellationRequested ? 0 : await EventStoreDbBenchmark.RunOrExplainAsync(measure, warmup, cts.Token);
    return cts.IsCancellationRequested ? 130 : esdb;
}
finally
{
    await database.DisposeAsync();
}
