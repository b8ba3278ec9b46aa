using System.Diagnostics;
using HealthEvents.Infrastructure.EventStoreDb;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `esdb`: EventStoreDB as the service's store, measured against raw baselines of the same run.
/// <list type="bullet">
/// <item>Appends: the adapter's <c>AppendAsync</c> (chained, endorsed, one append per transaction) next to raw gRPC appends
/// of the same bytes (the same data and custom metadata, an exact expected revision, nothing else).</item>
/// <item>Commands: a record entry added over HTTP (POST /patients/{id}/entries: authentication, load, decide, seal,
/// 2-of-3 endorsement, append) with the service on EventStoreDB, and the same with the service on PostgreSQL. Each store
/// is compared with its own raw baseline only — raw gRPC appends for EventStoreDB, raw single-row INSERTs into the
/// service's own PostgreSQL for PostgreSQL — because the shared EventStoreDB runs in memory and PostgreSQL fsyncs.</item>
/// </list>
/// Every baseline writes the very bytes a command stored (its event read back). All cases of one concurrency (1, 16
/// clients) run interleaved in slices of about a second (<see cref="Harness"/>), so load that drifts hits them alike.
///
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- esdb [--connection esdb://...] [--seconds N]
/// </summary>
public static class EventStoreDbMode
{
    private const int PatientsPerClient = 8;
    private static readonly int[] Concurrency = [1, 16];

    private const string EsdbRaw = "raw gRPC append, 1 event";
    private const string EsdbStore = "AppendAsync, 1 event";
    private const string PgRaw = "raw INSERT, 1 row/tx";
    private const string Command = "command over HTTP, 2-of-3";

    public static async Task<int> RunAsync(string? connection, TimeSpan measure, CancellationToken ct)
    {
        connection ??= Environment.GetEnvironmentVariable(EventStoreDbBenchmark.Variable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            Console.Error.WriteLine("No EventStoreDB server: pass --connection or set HEALTHEVENTS_ESDB " +
                                    "(e.g. HEALTHEVENTS_ESDB=$(../shared/eventstoredb/start.sh | tail -1)).");
            return 2;
        }
        var warmup = TimeSpan.FromSeconds(2);
        var loadAtStart = LoadAverage();
        var settings = EventStoreDbSettings.Parse(connection);

        await using var esdbService = await BenchService.StartAsync("bench-esdb", connection, ct);
        await using var pgService = await BenchService.StartAsync("bench-pg", null, ct);
        var clients = Concurrency.Max();
        var esdbPatients = await esdbService.RegisterPatientsAsync(clients * PatientsPerClient, ct);
        var pgPatients = await pgService.RegisterPatientsAsync(clients * PatientsPerClient, ct);

        // The bytes of one command's event, as each store holds it: what the baselines write.
        await esdbService.AddEntryAsync(esdbPatients[0], ct);
        await pgService.AddEntryAsync(pgPatients[0], ct);
        var esdbShape = new RowShape(await esdbService.LastEventAsync(esdbPatients[0], ct));
        var pgShape = new RowShape(await pgService.LastEventAsync(pgPatients[0], ct));
        var template = EsdbRawAppendWorker.Template(esdbShape);

        // Baselines next to, never inside, what the services read: the adapter under a prefix of its own, raw streams
        // named patient-<new id> without the services' prefixes, a raw table beside the PostgreSQL service's events.
        await using var client = new EventStoreDbClient(settings);
        await using var store = new EventStoreDbEventStore(settings, new EventStoreDbStoreOptions { StreamPrefix = BenchService.NewPrefix() });
        await using var pg = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(pgService.PostgresConnectionString) { MaxAutoPrepare = 32 }.ConnectionString);
        await using (var create = pg.CreateCommand("CREATE TABLE he_raw (LIKE he_events INCLUDING ALL)")) await create.ExecuteNonQueryAsync(ct);

        var kinds = new (string Store, string Name, Func<int, Worker> Create)[]
        {
            ("EventStoreDB", EsdbRaw, w => new EsdbRawAppendWorker(client, template, w)),
            ("EventStoreDB", EsdbStore, w => new StoreAppendWorker(store, esdbShape, w)),
            ("EventStoreDB", Command, w => new HttpCommandWorker(esdbService, Own(esdbPatients, w), w)),
            ("PostgreSQL", PgRaw, w => new RawSingleRowWorker(pg, pgShape, w)),
            ("PostgreSQL", Command, w => new HttpCommandWorker(pgService, Own(pgPatients, w), w)),
        };
        var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
        var slice = measure / slices;
        Console.Error.WriteLine($"EventStoreDB at {settings}; {measure.TotalSeconds:0.#} s per case ({slices} interleaved slices) after {warmup.TotalSeconds:0.#} s warm-up each");

        var results = new List<(string Store, CaseResult Result)>();
        long appends = 0;
        var total = Stopwatch.StartNew();
        foreach (var n in Concurrency)
        {
            if (ct.IsCancellationRequested) break;
            var cases = kinds.Select(k => (k.Store, Case: new Harness.Case(k.Name, n, Enumerable.Range(0, n).Select(k.Create).ToArray()))).ToList();
            try
            {
                foreach (var (_, c) in cases) foreach (var w in c.Workers) await w.OpenAsync(ct);
                foreach (var (_, c) in cases) await Harness.RunSliceAsync(c, warmup, record: false, ct);
                for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
                {
                    foreach (var (_, c) in cases) await Harness.RunSliceAsync(c, slice, record: true, ct);
                    Console.Error.WriteLine($"  {n} client(s), slice {round}/{slices} ({total.Elapsed.TotalSeconds:0} s): " +
                                            string.Join(" | ", cases.Select(c => $"{c.Store} {c.Case.Name} {Harness.Rate(c.Case)}/s")));
                }
                results.AddRange(cases.Select(c => (c.Store, c.Case.Result())));
                appends += cases.SelectMany(c => c.Case.Workers).OfType<StoreAppendWorker>().Sum(w => w.Appends);
            }
            finally
            {
                foreach (var w in cases.SelectMany(c => c.Case.Workers)) await w.DisposeAsync();
            }
        }
        if (ct.IsCancellationRequested) return 130;

        Print(results, settings, esdbShape, measure, loadAtStart, LoadAverage(), (double)store.ServerCalls / appends);
        Console.WriteLine($"commands answered 503/429 and sent again after Retry-After: {esdbService.Retries} on EventStoreDB, {pgService.Retries} on PostgreSQL");
        return 0;
    }

    /// <summary>Client <paramref name="w"/>'s own patients: nobody else writes their streams.</summary>
    private static Guid[] Own(Guid[] patients, int w) => patients.Skip(w * PatientsPerClient).Take(PatientsPerClient).ToArray();

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "?".</summary>
    internal static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    private static void Print(List<(string Store, CaseResult Result)> results, EventStoreDbSettings settings, RowShape shape, TimeSpan measure,
        string loadAtStart, string loadAtEnd, double roundTripsPerAppend)
    {
        Console.WriteLine();
        Console.WriteLine($"EventStoreDB benchmark: {settings} next to the service's private durable PostgreSQL; {Environment.ProcessorCount} cores, " +
                          $"load average {loadAtStart} at start, {loadAtEnd} at end; {measure.TotalSeconds:0.#} s per case");
        Console.WriteLine($"event (as a command stored it): {shape.TypeName}, {shape.Data.Length} B data, {shape.Metadata.Length} B metadata, " +
                          $"{shape.Endorsement.Length} B endorsement");
        Console.WriteLine();
        Console.WriteLine($"{"store",-13} {"case",-26} {"clients",7} {"per s",8} {"p50 ms",8} {"p99 ms",8} {"vs raw",7}");
        Console.WriteLine(new string('-', 82));
        foreach (var (store, r) in results)
        {
            var raw = results.First(b => b.Store == store && b.Result.Clients == r.Clients && b.Result.Name is EsdbRaw or PgRaw).Result;
            Console.WriteLine($"{store,-13} {r.Name,-26} {r.Clients,7} {r.OperationsPerSecond,8:N0} {r.P50Ms,8:0.00} {r.P99Ms,8:0.00} " +
                              $"{r.OperationsPerSecond / raw.OperationsPerSecond,7:0.00}");
        }
        Console.WriteLine();
        Console.WriteLine("per s: events appended (raw, AppendAsync) or commands answered 201 (one event each); vs raw: divided by the same");
        Console.WriteLine("store's raw baseline at the same number of clients. Compare ratios, not stores: the shared EventStoreDB runs in memory.");
        Console.WriteLine($"AppendAsync on EventStoreDB: {roundTripsPerAppend:0.000} server round trips per append (the raw baseline: 1).");
    }
}
