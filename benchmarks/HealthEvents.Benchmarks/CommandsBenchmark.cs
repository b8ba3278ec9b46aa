using System.Diagnostics;
using System.Net;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Runner;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `commands`: endorsed commands over HTTP as a clinical system sees them (the service as ./run.sh starts it, on its own
/// durable PostgreSQL, projections running; issue 13, points 2-4), each case next to its baseline from the same run:
/// <list type="bullet">
/// <item>Group commit: record entries by 1 and 16 clients, each on its own patients, on a service with group commit and
/// on one committing each append alone (<c>EventStore:GroupCommit=false</c>), interleaved in slices; commands/s, p50/p99,
/// and per command the WAL flushes (<c>pg_stat_wal.wal_sync</c>) and committed transactions (<c>pg_stat_database</c>) of
/// that service's PostgreSQL — projections included.</item>
/// <item>One busy stream: 64 clients adding entries to one patient at once; accepted/s, the share answered 409, p50/p99.</item>
/// <item>A long stream: one client's entries on a patient at version 10,000 (the fixture written straight to the store)
/// next to one at version 10, interleaved; p50/p99 and their ratio.</item>
/// </list>
///
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- commands [--seconds N (per case, default 10)] [--version N (default 10000)]
/// </summary>
public static class CommandsBenchmark
{
    private const int PatientsPerClient = 4;
    private const int BusyWriters = 64;

    public static async Task<int> RunAsync(TimeSpan measure, int longVersion, CancellationToken ct)
    {
        var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
        var loadAtStart = EventStoreDbMode.LoadAverage();

        await using var grouped = await BenchService.StartAsync("bench-group", null, ct, "--EventStore:GroupCommit=true");
        await using var alone = await BenchService.StartAsync("bench-alone", null, ct, "--EventStore:GroupCommit=false");
        var output = new List<string>();
        // The services compile FHIR validators in the background at start (minutes of CPU on a loaded machine): not measured.
        Console.Error.WriteLine("  waiting for the FHIR validator warm-up ...");
        await HealthEvents.Api.Fhir.FhirValidation.Shared.WarmAsync().WaitAsync(ct);

        // 1. Group commit against one transaction per append.
        output.Add($"{"case",-34} {"clients",7} {"commands/s",10} {"p50 ms",8} {"p99 ms",8} {"WAL flushes/cmd",15} {"commits/cmd",11}");
        foreach (var clients in new[] { 1, 16 })
        {
            var services = new[] { ("one transaction per append", alone), ("group commit", grouped) };
            var cases = new List<(Harness.Case Case, BenchService Service, DatabaseCounters Before)>();
            foreach (var (name, service) in services)
            {
                var patients = await service.RegisterPatientsAsync(clients * PatientsPerClient, ct);
                var workers = Enumerable.Range(0, clients)
                    .Select(w => (Worker)new HttpCommandWorker(service, patients.Skip(w * PatientsPerClient).Take(PatientsPerClient).ToArray(), w)).ToArray();
                var c = new Harness.Case(name, clients, workers);
                await Harness.RunSliceAsync(c, TimeSpan.FromSeconds(2), record: false, ct);
                cases.Add((c, service, default));
            }
            await SettleAsync(ct);
            for (var i = 0; i < cases.Count; i++) cases[i] = cases[i] with { Before = await DatabaseCounters.ReadAsync(cases[i].Service, ct) };
            for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
            {
                foreach (var (c, _, _) in cases) await Harness.RunSliceAsync(c, measure / slices, record: true, ct);
                Console.Error.WriteLine($"  {clients} client(s), slice {round}/{slices}: " + string.Join(" | ", cases.Select(c => $"{c.Case.Name} {Harness.Rate(c.Case)}/s")));
            }
            await SettleAsync(ct); // backends report their WAL statistics when idle
            foreach (var (c, service, before) in cases)
            {
                var after = await DatabaseCounters.ReadAsync(service, ct);
                var r = c.Result();
                // Every command of the case, warm-up slices excluded: the counters ran during the measured slices only.
                double perCommand(long delta) => r.Operations == 0 ? double.NaN : (double)delta / r.Operations;
                output.Add($"{c.Name,-34} {clients,7} {r.OperationsPerSecond,10:N0} {r.P50Ms,8:0.00} {r.P99Ms,8:0.00} " +
                           $"{perCommand(after.WalSyncs - before.WalSyncs),15:0.00} {perCommand(after.Commits - before.Commits),11:0.0}");
            }
        }

        var (busyResult, statuses) = await BusyStreamAsync(grouped, measure, ct);
        var results = await StreamLengthAsync(grouped, longVersion, measure, ct);
        if (ct.IsCancellationRequested) return 130;

        Console.WriteLine();
        Console.WriteLine($"HealthEvents commands benchmark: POST /patients/{{id}}/entries over HTTP (2-of-3 in-process endorsement, projections running), " +
                          $"each service on its own durable PostgreSQL; {Environment.ProcessorCount} cores, load average {loadAtStart} at start, " +
                          $"{EventStoreDbMode.LoadAverage()} at end; {measure.TotalSeconds:0.#} s per case");
        Console.WriteLine();
        foreach (var line in output) Console.WriteLine(line);
        Console.WriteLine();
        Console.WriteLine($"{"one busy stream",-34} {"clients",7} {"accepted/s",10} {"p50 ms",8} {"p99 ms",8} {"409 share",10} {"other",6}");
        Console.WriteLine($"{busyResult.Name,-34} {BusyWriters,7} {statuses.Accepted / busyResult.Seconds,10:N0} {busyResult.P50Ms,8:0.00} {busyResult.P99Ms,8:0.00} " +
                          $"{(double)statuses.Conflicts / Math.Max(1, statuses.Total),10:P1} {statuses.Other,6}");
        Console.WriteLine();
        Console.WriteLine($"{"stream length",-34} {"clients",7} {"commands/s",10} {"p50 ms",8} {"p99 ms",8} {"p50 vs version 10",18}");
        foreach (var r in results)
            Console.WriteLine($"{r.Name,-34} {1,7} {r.OperationsPerSecond,10:N0} {r.P50Ms,8:0.00} {r.P99Ms,8:0.00} {r.P50Ms / results[0].P50Ms,18:0.00}");
        Console.WriteLine();
        Console.WriteLine("WAL flushes/cmd: pg_stat_wal.wal_sync of the service's PostgreSQL over the measured slices, divided by the commands;");
        Console.WriteLine("commits/cmd: pg_stat_database.xact_commit likewise (both include the projections' work, the endorsement's and the checkpoints').");
        Console.WriteLine($"commands answered 503/429 and sent again after Retry-After: {grouped.Retries + alone.Retries}");
        return 0;
    }

    /// <summary>
    /// One busy stream: <see cref="BusyWriters"/> clients adding entries to one new patient at once for
    /// <paramref name="measure"/> (after 2 s unmeasured); their latencies and what they were answered in the window.
    /// </summary>
    public static async Task<(CaseResult Result, Answers Answers)> BusyStreamAsync(BenchService service, TimeSpan measure, CancellationToken ct)
    {
        var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
        var busyPatient = (await service.RegisterPatientsAsync(1, ct))[0];
        var busy = new Harness.Case("64 clients, one patient", BusyWriters,
            Enumerable.Range(0, BusyWriters).Select(w => (Worker)new OneStreamWorker(service, busyPatient, w)).ToArray());
        await Harness.RunSliceAsync(busy, TimeSpan.FromSeconds(2), record: false, ct);
        var counted = busy.Workers.Cast<OneStreamWorker>().Select(w => w.Snapshot()).ToArray();
        for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
            await Harness.RunSliceAsync(busy, measure / slices, record: true, ct);
        var statuses = busy.Workers.Cast<OneStreamWorker>().Zip(counted, (w, before) => w.Snapshot() - before).Aggregate((a, b) => a + b);
        Console.Error.WriteLine($"  one busy stream: {statuses}");
        return (busy.Result(), statuses);
    }

    /// <summary>
    /// One client's entries on a patient at version 10 and on one at <paramref name="longVersion"/> (the fixture written
    /// straight to the store), interleaved in slices for <paramref name="measure"/> each: [version 10, long version].
    /// </summary>
    public static async Task<CaseResult[]> StreamLengthAsync(BenchService service, int longVersion, TimeSpan measure, CancellationToken ct)
    {
        var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
        var (shortPatient, longPatient) = await ShortAndLongAsync(service, longVersion, ct);
        var lengths = new[] { ("version 10", shortPatient), ($"version {longVersion:N0}", longPatient) };
        var streamCases = lengths.Select(l => new Harness.Case(l.Item1, 1, [new HttpCommandWorker(service, [l.Item2], 0)])).ToList();
        foreach (var c in streamCases) await Harness.RunSliceAsync(c, TimeSpan.FromSeconds(2), record: false, ct);
        for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
            foreach (var c in streamCases) await Harness.RunSliceAsync(c, measure / slices, record: true, ct);
        return [.. streamCases.Select(c => c.Result())];
    }

    /// <summary>
    /// Two new patients: one whose stream is at version 10 (entries added over HTTP) and one at <paramref name="longVersion"/>
    /// (its first entry over HTTP, the rest written straight to the store, the projections caught up).
    /// </summary>
    public static async Task<(Guid Short, Guid Long)> ShortAndLongAsync(BenchService service, int longVersion, CancellationToken ct)
    {
        var shortPatient = (await service.RegisterPatientsAsync(1, ct))[0];
        for (var i = 0; i < 9; i++) await service.AddEntryAsync(shortPatient, ct);
        var longPatient = (await service.RegisterPatientsAsync(1, ct))[0];
        await service.AddEntryAsync(longPatient, ct);
        await WriteFixtureAsync(service, longPatient, longVersion, ct);
        return (shortPatient, longPatient);
    }

    /// <summary>
    /// Writes record entries straight to the store until <paramref name="patient"/>'s stream reaches <paramref name="version"/>:
    /// copies of its last entry under new entry ids (the same sealed content, unendorsed), 500 per append; then waits until
    /// every projection has them, so the measurement does not share the machine with their catch-up.
    /// </summary>
    private static async Task WriteFixtureAsync(BenchService service, Guid patient, int version, CancellationToken ct)
    {
        var store = service.Services.GetRequiredService<IEventStore>();
        var last = await service.LastEventAsync(patient, ct);
        var entry = (RecordEntryAdded)EventSerializer.Default.Deserialize(last.Type, last.Data);
        var clock = Stopwatch.StartNew();
        var head = last.Version;
        GlobalPosition? position = null;
        while (head < version - 1)
        {
            var events = Enumerable.Range(0, (int)Math.Min(500, version - 1 - head))
                .Select(_ => new ProposedEvent(Guid.NewGuid(), last.Type, EventSerializer.Default.Serialize(entry with { EntryId = Guid.NewGuid() }), last.Metadata))
                .ToList();
            var appended = await store.AppendAsync(last.StreamId, ExpectedVersion.Exactly(head), events, null, ct);
            (head, position) = (appended.LastVersion, appended.Events[^1].Position);
        }
        Console.Error.WriteLine($"  fixture: {last.StreamId} at version {head:N0} ({clock.Elapsed.TotalSeconds:0.0} s); waiting for the projections ...");
        var runner = service.Services.GetRequiredService<ProjectionRunner>();
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (runner.Status.Any(p => p.RunningHere && !p.Stalled && (p.Checkpoint is not { } c || c < position!.Value)) && DateTime.UtcNow < deadline)
            await Task.Delay(200, ct);
        Console.Error.WriteLine($"  projections caught up ({clock.Elapsed.TotalSeconds:0.0} s)");
    }

    /// <summary>A moment without load: PostgreSQL backends report their statistics once idle (at most a second later).</summary>
    private static Task SettleAsync(CancellationToken ct) => Task.Delay(TimeSpan.FromSeconds(2), ct);

    private readonly record struct DatabaseCounters(long WalSyncs, long Commits)
    {
        public static async Task<DatabaseCounters> ReadAsync(BenchService service, CancellationToken ct)
        {
            await using var conn = new NpgsqlConnection(service.PostgresConnectionString);
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand(
                "SELECT (SELECT wal_sync FROM pg_stat_wal), (SELECT sum(xact_commit)::bigint FROM pg_stat_database)", conn);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return new DatabaseCounters(reader.GetInt64(0), reader.GetInt64(1));
        }
    }
}

/// <summary>What one busy-stream client was answered.</summary>
public readonly record struct Answers(long Accepted, long Conflicts, long Other)
{
    public long Total => Accepted + Conflicts + Other;
    public static Answers operator +(Answers a, Answers b) => new(a.Accepted + b.Accepted, a.Conflicts + b.Conflicts, a.Other + b.Other);
    public static Answers operator -(Answers a, Answers b) => new(a.Accepted - b.Accepted, a.Conflicts - b.Conflicts, a.Other - b.Other);
    public override string ToString() => $"{Accepted} accepted, {Conflicts} answered 409, {Other} other";
}

/// <summary>A clinical system adding entries to the one patient every other client writes too; counts what it is answered.</summary>
public sealed class OneStreamWorker(BenchService service, Guid patient, int index) : Worker(index)
{
    private long _accepted, _conflicts, _other;

    public Answers Snapshot() => new(Interlocked.Read(ref _accepted), Interlocked.Read(ref _conflicts), Interlocked.Read(ref _other));

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var (status, _) = await service.PostEntryAsync(patient, ct);
        if (status == HttpStatusCode.Created) Interlocked.Increment(ref _accepted);
        else if (status == HttpStatusCode.Conflict) Interlocked.Increment(ref _conflicts);
        else Interlocked.Increment(ref _other);
    }
}
