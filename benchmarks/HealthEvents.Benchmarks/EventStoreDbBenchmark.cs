using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Benchmarks;

/// <summary>
/// The append benchmark on EventStoreDB, when HEALTHEVENTS_ESDB names a server: <see cref="EventStoreDbEventStore.AppendAsync"/>
/// of one chained, endorsed event against a raw baseline in the same run — plain gRPC appends of the identical
/// bytes (the same data and custom metadata, with an exact expected revision), without our chaining or head reads.
/// Both at 1 and 16 clients, interleaved in slices like the PostgreSQL cases.
/// </summary>
public static class EventStoreDbBenchmark
{
    public const string Variable = "HEALTHEVENTS_ESDB";
    public const string Raw = "ESDB raw gRPC append, 1 ev";
    public const string Store = "ESDB AppendAsync, 1 event";

    /// <summary>Runs the cases, or says why not. 0: measured or skipped (no server configured); 1: the configured server does not answer.</summary>
    public static async Task<int> RunOrExplainAsync(TimeSpan measure, TimeSpan warmup, CancellationToken ct)
    {
        Console.WriteLine();
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Console.WriteLine($"EventStoreDB append benchmark: skipped, {Variable} is not set (no EventStoreDB server to measure; " +
                              "e.g. docker compose up eventstore, then HEALTHEVENTS_ESDB=esdb://127.0.0.1:2113?tls=false).");
            return 0;
        }
        var settings = EventStoreDbSettings.Parse(connectionString);
        await using var store = new EventStoreDbEventStore(settings);
        await using var client = new EventStoreDbClient(settings);
        if (!await store.IsHealthyAsync(ct))
        {
            Console.WriteLine($"EventStoreDB append benchmark: {settings} does not answer; not measured.");
            return 1;
        }

        var shape = new RowShape();
        var template = EsdbRawAppendWorker.Template(shape);
        var kinds = new (string Name, Func<int, Worker> Create)[]
        {
            (Raw, w => new EsdbRawAppendWorker(client, template, w)),
            (Store, w => new StoreAppendWorker(store, shape, w)),
        };
        var slices = Math.Max(1, (int)Math.Round(measure.TotalSeconds));
        var slice = measure / slices;
        Console.Error.WriteLine($"EventStoreDB at {settings}: {measure.TotalSeconds:0.#} s per case ({slices} interleaved slices) after {warmup.TotalSeconds:0.#} s warm-up each");

        var results = new List<CaseResult>();
        var total = Stopwatch.StartNew();
        foreach (var clients in new[] { 1, 16 })
        {
            if (ct.IsCancellationRequested) break;
            var cases = kinds.Select(k => new Harness.Case(k.Name, clients, Enumerable.Range(0, clients).Select(k.Create).ToArray())).ToList();
            foreach (var c in cases) await Harness.RunSliceAsync(c, warmup, record: false, ct);
            for (var round = 1; round <= slices && !ct.IsCancellationRequested; round++)
            {
                foreach (var c in cases) await Harness.RunSliceAsync(c, slice, record: true, ct);
                Console.Error.WriteLine($"  ESDB {clients} client(s), slice {round}/{slices} ({total.Elapsed.TotalSeconds:0} s): " +
                                        string.Join(" | ", cases.Select(c => $"{c.Name} {Harness.Rate(c)} events/s")));
            }
            results.AddRange(cases.Select(c => c.Result()));
        }

        Console.WriteLine($"EventStoreDB append benchmark: {settings}, {Environment.ProcessorCount} cores, {measure.TotalSeconds:0.#} s per case; " +
                          $"event: {shape.Data.Length} B data, {template.CustomMetadata.Length} B custom metadata (metadata, hash link, endorsement)");
        Console.WriteLine();
        Console.WriteLine($"{"case",-26} {"clients",7} {"events/s",9} {"p50 ms",7} {"p99 ms",7} {"vs raw",7}");
        Console.WriteLine(new string('-', 68));
        foreach (var r in results)
        {
            var raw = results.FirstOrDefault(b => b.Name == Raw && b.Clients == r.Clients);
            var ratio = raw is null || raw.RowsPerSecond == 0 ? "-" : $"{r.RowsPerSecond / raw.RowsPerSecond:0.00}";
            Console.WriteLine($"{r.Name,-26} {r.Clients,7} {r.RowsPerSecond,9:N0} {r.P50Ms,7:0.00} {r.P99Ms,7:0.00} {ratio,7}");
        }
        Console.WriteLine("ratio: events/s of the case divided by the raw gRPC appends' at the same number of clients " +
                          "(AppendAsync is one append per transaction too, once the stream's head is known)");
        return 0;
    }
}

/// <summary>Baseline: one gRPC append of the precomputed event bytes, exact expected revision, nothing else.</summary>
internal sealed class EsdbRawAppendWorker(EventStoreDbClient client, AppendReq.Types.ProposedMessage template, int index) : Worker(index)
{
    /// <summary>The message the store would send for an event of this shape (data as is; metadata, hash link and endorsement in custom metadata).</summary>
    public static AppendReq.Types.ProposedMessage Template(RowShape shape) => EventStoreDbEnvelope.ToProposedMessage(
        new EventEnvelope(Guid.Empty, "template", 0, shape.TypeName, shape.Data, shape.Metadata, shape.PrevHash, shape.Hash, null), shape.Endorsement);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var (stream, last, slot) = PickStream();
        var message = template.Clone();
        message.Id = new UUID { String = Guid.NewGuid().ToString("D") };
        var reply = await client.AppendAsync(stream, o =>
        {
            if (last < 0) o.NoStream = new Empty();
            else o.Revision = (ulong)last;
        }, [message], ct);
        if (reply.ResultCase != AppendResp.ResultOneofCase.Success)
            throw new InvalidOperationException($"The raw append to {stream} was refused: {reply.ResultCase}.");
        Advance(slot, last + 1);
    }
}
