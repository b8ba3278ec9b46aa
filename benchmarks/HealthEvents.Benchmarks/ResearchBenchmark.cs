using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.Projections;
using HealthEvents.Projections.Research;
using HealthEvents.Projections.Runner;
using Marten;
using Npgsql;

using static HealthEvents.Benchmarks.HistoryPlan;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Research projection rebuild against the raw read of the same events, in one run on one private PostgreSQL:
/// generates a history of N events (default 1,000,000) through the event store port — patients registered, record
/// entries, consents (research ones among them), accesses, amendments, revocations — in batched appends, then measures
/// (1) the raw global read (ReadAllAsync in batches of the runner's size), (2) the same read with deserialisation, and
/// (3) a full rebuild of a research projection (conditions by age band and sex, k = 5), with progress.
///
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- research [--events N] [--writers W]
/// </summary>
public static class ResearchBenchmark
{
    private const int BatchSize = 500; // the runner's default batch

    public static async Task<int> RunAsync(long events, int writers, CancellationToken ct)
    {
        var database = await BenchDatabase.StartAsync("research-bench", ct);
        try
        {
            var cs = database.ConnectionString;
            await using var store = new PostgresEventStore(cs);
            await store.EnsureSchemaAsync(ct);

            var generated = await GenerateAsync(store, events, writers, ct);
            // Declared through the port like any research declaration (so every read below sees the same events), found by the
            // catalog as the service finds it.
            var declaration = new ResearchProjectionDeclared("bench-conditions", "researcher-1", "Bench University",
                new ResearchFilter([Category.Conditions], [], null, null), [ResearchDimension.AgeBand, ResearchDimension.Sex], 5, DateTimeOffset.UtcNow);
            await store.AppendAsync(ResearchStream.StreamId, ExpectedVersion.Any,
            [
                new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(declaration), EventSerializer.Default.Serialize(declaration),
                    new EventMetadata("researcher-1", Role.Researcher, "h3", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes()),
            ], null, ct);
            var total = await CountAsync(cs, ct);
            Console.Error.WriteLine($"history: {total:N0} events of {generated.Patients:N0} patients ({generated.ResearchConsents:N0} with a research consent) " +
                                    $"written in {generated.Seconds:N1} s ({total / generated.Seconds:N0} events/s, {generated.Appends:N0} appends)");

            // Warm the cache once, so that the raw read and the rebuild read the same warm log.
            await ReadAllAsync(store, total, deserialize: false, "warm-up read", ct);
            var raw = await ReadAllAsync(store, total, deserialize: false, "raw read", ct);
            var decoded = await ReadAllAsync(store, total, deserialize: true, "read + deserialise", ct);

            using var readModels = ReadModelStore.Create(cs);
            var catalog = new ResearchCatalog(store);
            var rebuilder = new ProjectionRebuilder(store, readModels, [], EventSerializer.Default, new EventTableStatistics(cs),
                new ProjectionRunnerOptions { BatchSize = BatchSize }, null, [catalog]);
            await rebuilder.RefreshAsync(ct);
            var name = ResearchProjectionNames.Of(declaration.Name);
            var lastPrint = Stopwatch.StartNew();
            var rebuilt = await rebuilder.RebuildAsync(name, new SyncProgress(p =>
            {
                if (lastPrint.Elapsed < TimeSpan.FromSeconds(1) && p.Phase != RebuildPhase.Completed) return;
                lastPrint.Restart();
                Console.Error.WriteLine($"  rebuild {name}: {p.Phase} {p.EventsDone:N0}/{p.EventsTotal?.ToString("N0") ?? "?"} events, {p.EventsPerSecond:N0}/s");
            }), ct);

            // The rows, as a GET computes them.
            var clock = Stopwatch.StartNew();
            await using var session = await readModels.QuerySessionAsync(ct);
            var subjects = await session.Query<ResearchSubject>().Where(x => x.Projection == name).ToListAsync(ct);
            var table = ResearchTable.Compute(catalog.Find(declaration.Name)!.Definition, subjects, DateTimeOffset.UtcNow);
            var rowsMs = clock.Elapsed.TotalMilliseconds;

            var rebuildRate = rebuilt.EventsDone / rebuilt.Elapsed.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"Research projection rebuild, {total:N0} events ({generated.Patients:N0} patients), one run, {Environment.ProcessorCount} cores, durable PostgreSQL:");
            Console.WriteLine($"  {"raw ReadAllAsync, batches of " + BatchSize,-42} {raw.Rate,10:N0} events/s  ({raw.Seconds:N1} s)");
            Console.WriteLine($"  {"read + deserialise",-42} {decoded.Rate,10:N0} events/s  ({decoded.Seconds:N1} s)");
            Console.WriteLine($"  {"rebuild " + name,-42} {rebuildRate,10:N0} events/s  ({rebuilt.Elapsed.TotalSeconds:N1} s)  = {rebuildRate / raw.Rate:P0} of the raw read");
            Console.WriteLine($"  result: {subjects.Count:N0} pseudonymous subjects, {table.Rows.Count} rows " +
                              $"({table.Rows.Count(r => r.Suppressed)} suppressed), total {table.Total.Count?.ToString("N0") ?? "suppressed"}; rows computed in {rowsMs:N0} ms");
            return 0;
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private sealed class SyncProgress(Action<RebuildProgress> report) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value) => report(value);
    }

    private sealed record ReadResult(long Events, double Seconds)
    {
        public double Rate => Events / Seconds;
    }

    private static async Task<ReadResult> ReadAllAsync(IEventStore store, long total, bool deserialize, string label, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var lastPrint = TimeSpan.Zero;
        GlobalPosition? after = null;
        long done = 0;
        while (true)
        {
            var batch = await store.ReadAllAsync(after, BatchSize, ct);
            if (batch.Count == 0) break;
            if (deserialize)
                foreach (var e in batch)
                {
                    if (EventSerializer.Default.IsKnown(e.Type)) _ = EventSerializer.Default.Deserialize(e.Type, e.Data);
                    _ = EventMetadata.FromBytes(e.Metadata);
                }
            done += batch.Count;
            after = batch[^1].Position;
            if (clock.Elapsed - lastPrint >= TimeSpan.FromSeconds(1))
            {
                lastPrint = clock.Elapsed;
                Console.Error.WriteLine($"  {label}: {done:N0}/{total:N0} events, {done / clock.Elapsed.TotalSeconds:N0}/s");
            }
            if (batch.Count < BatchSize) break;
        }
        var result = new ReadResult(done, clock.Elapsed.TotalSeconds);
        Console.Error.WriteLine($"  {label}: {done:N0} events in {result.Seconds:N1} s, {result.Rate:N0}/s");
        return result;
    }

    private static async Task<long> CountAsync(string cs, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM he_events", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    // ------------------------------------------------------------------ the generated history

    private sealed record Generated(long Patients, long ResearchConsents, long Appends, double Seconds);

    private static async Task<Generated> GenerateAsync(IEventStore store, long target, int writers, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long written = 0, appends = 0, researchConsents = 0;
        const int perPatient = 22; // a little above the mean (about 20), then topped up to exactly the target
        var patients = (int)Math.Max(1, target / perPatient);
        var plans = Enumerable.Range(0, patients).Select(i => new PatientPlan(PatientPlan.IdOf(i), i)).ToArray();
        var start = new DateTimeOffset(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var lastPrint = TimeSpan.Zero;
        var gate = new Lock();

        // Phase 0: registration and early entries; 1: consents and accesses; 2: later entries, amendments, accesses,
        // revocations; 3: more entries, round the patients, until the log holds exactly the target.
        var left = target;
        for (var phase = 0; phase < 4; phase++)
        {
            var current = phase;
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                while (true)
                {
                    var index = Interlocked.Increment(ref next);
                    if (current == 3 && Interlocked.Read(ref left) <= 0) return;
                    var plan = plans[index % plans.Length];
                    if (current < 3 && index >= plans.Length) return;
                    var owed = current < 3 ? -1 : Interlocked.Add(ref left, -20) + 20;
                    var batch = HistoryPlan.EventsOf(plan, current, start, start, Math.Min(owed, 20), HistoryPlan.ResearchHospitals);
                    if (batch.Count == 0) continue;
                    if (current < 3) Interlocked.Add(ref left, -batch.Count);
                    var result = await store.AppendAsync($"patient-{plan.Id}", ExpectedVersion.After(plan.Version), batch.Select(e => e.Proposed).ToList(), null, ct);
                    plan.Version = result.LastVersion;
                    if (batch.Any(e => e.Event is ConsentGranted g && g.Purposes.Contains(Purpose.Research))) Interlocked.Increment(ref researchConsents);
                    Interlocked.Add(ref written, batch.Count);
                    Interlocked.Increment(ref appends);
                    lock (gate)
                        if (clock.Elapsed - lastPrint >= TimeSpan.FromSeconds(1))
                        {
                            lastPrint = clock.Elapsed;
                            Console.Error.WriteLine($"  generating (phase {current + 1}/3): {Interlocked.Read(ref written):N0}/{target:N0} events, {written / clock.Elapsed.TotalSeconds:N0}/s");
                        }
                }
            }, ct)));
        }
        return new Generated(patients, researchConsents, appends, clock.Elapsed.TotalSeconds);
    }

}
