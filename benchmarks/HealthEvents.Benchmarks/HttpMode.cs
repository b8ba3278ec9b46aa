using System.Globalization;
using HealthEvents.Application.Ports;
using HealthEvents.Projections.Runner;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `http`: the service as a clinical system meets it and what each command costs the database. The service starts as
/// ./run.sh starts it (<see cref="BenchService"/>: its own durable private PostgreSQL, the demo network, 2-of-3 in-process
/// endorsement, every projection running); closed-loop clients, each adding record entries to a patient of its own over
/// HTTP, 1 then 16 of them. Per accepted command: transactions, WAL records and WAL flushes of the whole server
/// (<see cref="DatabaseCounters"/> before the window and after the projections caught up and the counters settled, less
/// the quiet service's own rate for that settling time). Next to it, in the same run and the same PostgreSQL, pgbench's
/// durable single-row INSERTs of the command's stored event bytes with 16 clients.
///
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- http [--seconds N] [--quick]
/// </summary>
public static class HttpMode
{
    private static readonly int[] Concurrency = [1, 16];

    private sealed record Row(string Case, int Clients, double PerSecond, double P50Ms, double P99Ms, WorkPerUnit Work);

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        const string Usage = "usage: HealthEvents.Benchmarks http [--seconds N (per case, default 10)] [--quick (5 s per case, 1 s warm-up)]";
        if (args.Any(a => a is "--help" or "-h"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var quick = args.Contains("--quick");
        var warmup = TimeSpan.FromSeconds(quick ? 1 : 2);
        var seconds = quick ? 5.0 : 10.0;
        var at = Array.IndexOf(args, "--seconds");
        var stray = args.Where((a, i) => a != "--quick" && (at < 0 || (i != at && i != at + 1))).ToList();
        if (stray.Count > 0 || (at >= 0 && !(at + 1 < args.Length && double.TryParse(args[at + 1], CultureInfo.InvariantCulture, out seconds) && seconds > 0)))
        {
            Console.Error.WriteLine($"unexpected arguments '{string.Join(' ', args)}'; {Usage}");
            return 2;
        }
        var measure = TimeSpan.FromSeconds(seconds);
        var loadAtStart = LoadAverage();

        await using var service = await BenchService.StartAsync("bench-http", null, ct);
        await using var db = NpgsqlDataSource.Create(service.PostgresConnectionString);
        var patients = await service.RegisterPatientsAsync(Concurrency.Max(), ct);
        await service.AddEntryAsync(patients[0], ct);
        var shape = new RowShape(await service.LastEventAsync(patients[0], ct));
        await using (var create = db.CreateCommand("CREATE TABLE he_raw (LIKE he_events INCLUDING ALL)")) await create.ExecuteNonQueryAsync(ct);

        // The quiet service first: what it costs the server per second doing nothing (polls, lease checks, signer).
        // Not before the FHIR validators are warm: compiling them keeps a core busy for seconds after start-up.
        await Api.Fhir.FhirValidation.Shared.WarmAsync().WaitAsync(ct);
        await CatchUpAsync(service, db, ct);
        await Task.Delay(DatabaseCounters.Settle, ct);
        var quietFrom = await DatabaseCounters.ReadAsync(db, ct);
        await Task.Delay(DatabaseCounters.Settle, ct);
        var idle = IdleRates.Between(quietFrom, await DatabaseCounters.ReadAsync(db, ct));
        Console.Error.WriteLine($"quiet service: {idle.Transactions:0.0} transactions/s, {idle.WalFlushes:0.00} WAL flushes/s");

        var rows = new List<Row>();
        foreach (var n in Concurrency)
        {
            var workers = Enumerable.Range(0, n).Select(w => new HttpCommandWorker(service, [patients[w]], w)).ToArray();
            var c = new Harness.Case("command over HTTP, 2-of-3", n, workers);
            await Harness.RunSliceAsync(c, warmup, record: false, ct);
            await CatchUpAsync(service, db, ct);
            await Task.Delay(DatabaseCounters.Settle, ct);

            var before = await DatabaseCounters.ReadAsync(db, ct);
            await Harness.RunSliceAsync(c, measure, record: true, ct);
            var end = DateTime.UtcNow;
            await CatchUpAsync(service, db, ct); // the commands' projection work belongs to them
            await Task.Delay(DatabaseCounters.Settle, ct);
            var after = await DatabaseCounters.ReadAsync(db, ct);
            var r = c.Result();
            rows.Add(new(r.Name, n, r.OperationsPerSecond, r.P50Ms, r.P99Ms, WorkPerUnit.Of(before, after, (after.At - end).TotalSeconds, idle, r.Operations)));
            Console.Error.WriteLine($"  {n} client(s): {r.OperationsPerSecond:N0} commands/s, p50 {r.P50Ms:0.0} ms, p99 {r.P99Ms:0.0} ms");
        }

        // The database's ceiling in the same server, with nothing of ours but the quiet service beside it.
        var rawBefore = await DatabaseCounters.ReadAsync(db, ct);
        var raw = await Pgbench.RunAsync(service.PostgresConnectionString, shape, 16, measure, ct);
        var rawEnd = DateTime.UtcNow;
        await Task.Delay(DatabaseCounters.Settle, ct);
        var rawAfter = await DatabaseCounters.ReadAsync(db, ct);
        var rawTransactions = (long)(raw.TransactionsPerSecond * measure.TotalSeconds);
        rows.Add(new("pgbench INSERT, 1 row/tx", 16, raw.TransactionsPerSecond, raw.LatencyAverageMs, double.NaN,
            WorkPerUnit.Of(rawBefore, rawAfter, (rawAfter.At - rawEnd).TotalSeconds, idle, rawTransactions)));

        Print(rows, shape, measure, idle, loadAtStart, LoadAverage(), service.Retries);
        return 0;
    }

    /// <summary>Waits until every projection has applied the last event stored so far.</summary>
    private static async Task CatchUpAsync(BenchService service, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT transaction_id, position FROM he_events ORDER BY transaction_id DESC, position DESC LIMIT 1");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return;
        var last = new GlobalPosition(r.GetFieldValue<ulong>(0), (ulong)r.GetInt64(1));
        var runner = service.Services.GetRequiredService<ProjectionRunner>();
        if (!await runner.WaitForAsync(last, TimeSpan.FromMinutes(2), ct))
            Console.Error.WriteLine("warning: the projections did not catch up within 2 minutes");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    private static void Print(List<Row> rows, RowShape shape, TimeSpan measure, IdleRates idle, string loadAtStart, string loadAtEnd, long retries)
    {
        Console.WriteLine();
        Console.WriteLine($"HTTP benchmark: the service as ./run.sh runs it (private durable PostgreSQL, 2-of-3 in-process endorsement, projections " +
                          $"running); {Environment.ProcessorCount} cores, load average {loadAtStart} at start, {loadAtEnd} at end; {measure.TotalSeconds:0.#} s per case");
        Console.WriteLine($"event (as a command stored it): {shape.TypeName}, {shape.Data.Length} B data, {shape.Metadata.Length} B metadata, " +
                          $"{shape.Endorsement.Length} B endorsement");
        Console.WriteLine();
        Console.WriteLine($"{"case",-27} {"clients",7} {"per s",8} {"p50 ms",8} {"p99 ms",8} {"vs raw",7} {"tx/unit",8} {"WAL rec",8} {"WAL fl",7}");
        Console.WriteLine(new string('-', 92));
        var rawRate = rows.Last().PerSecond;
        foreach (var r in rows)
            Console.WriteLine($"{r.Case,-27} {r.Clients,7} {r.PerSecond,8:N0} {r.P50Ms,8:0.00} {(double.IsNaN(r.P99Ms) ? "-" : r.P99Ms.ToString("0.00")),8} {r.PerSecond / rawRate,7:0.00} " +
                              $"{r.Work.Transactions,8:0.0} {r.Work.WalRecords,8:0.0} {r.Work.WalFlushes,7:0.00}");
        Console.WriteLine();
        Console.WriteLine("per s: commands answered 201 (one event each) or pgbench transactions; pgbench's p50 column is its average latency.");
        Console.WriteLine("tx/unit, WAL rec, WAL fl: per command (per pgbench transaction) of the whole server: pg_stat_database xact_commit,");
        Console.WriteLine("pg_stat_wal wal_records and wal_sync, from before the window until the projections caught up, less the quiet rate.");
        Console.WriteLine($"quiet service: {idle.Transactions:0.0} transactions/s, {idle.WalRecords:0.0} WAL records/s, {idle.WalFlushes:0.00} WAL flushes/s");
        if (rows.FirstOrDefault(r => r.Clients == 1) is { } one && rows.FirstOrDefault(r => r.Clients == 16 && r != rows.Last()) is { } many)
            Console.WriteLine($"scaling 16 vs 1 client: {many.PerSecond / one.PerSecond:0.0}x");
        Console.WriteLine($"commands answered 503/429 and sent again after Retry-After: {retries}");
    }
}
