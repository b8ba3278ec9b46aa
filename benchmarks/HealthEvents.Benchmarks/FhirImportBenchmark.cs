using System.Diagnostics;
using System.Text;
using System.Text.Json;
using HealthEvents.Api.Fhir;
using HealthEvents.Application.Ports;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `fhir`: FHIR bundles imported over HTTP (POST /fhir: parse, validation against the base R4 profiles, sealing, 2-of-3
/// endorsement, append) next to the raw append rate of the very events those imports stored — the same data, metadata
/// and endorsements, in the same transactions, appended again to fresh streams of the same store — in one run, on the
/// service as ./run.sh starts it (its private PostgreSQL, the demo network, in-process endorsers). Validation alone is
/// measured too, on the same bundles, warm.
///
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- fhir [--folder PATH] [--clients N]
/// </summary>
public static class FhirImportBenchmark
{
    public static async Task<int> RunAsync(string? folder, int clients, CancellationToken ct)
    {
        folder ??= SamplesFolder();
        if (folder is null || !Directory.Exists(folder))
        {
            Console.Error.WriteLine("No sample bundles: ../shared/fhir-samples/synthea-r4 is not there (pass --folder).");
            return 2;
        }
        var files = Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).ToArray();
        var bundles = files.Select(File.ReadAllText).ToArray();
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

        await using var service = await BenchService.StartAsync("fhir-bench", null, ct);
        var http = service.Http;
        // Warm-up, not counted: the validator's schemas compile on first use (seconds), the path JITs.
        Console.Error.WriteLine("Warming up (the validator compiles the base profiles on first use) ...");
        await PostAsync(http, WarmUpBundle, ct);
        // As many validators as clients will use, each having seen every resource type of the samples.
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(() => MeasureValidationAsync(bundles, ct), ct)));

        var validation = await MeasureValidationAsync(bundles, ct);
        Console.Error.WriteLine($"  validation alone: {validation.Seconds:N1} s");

        Console.Error.WriteLine($"Importing {bundles.Length} bundles over HTTP with {clients} client(s) ...");
        var summaries = new FhirImportSummary[bundles.Length];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < bundles.Length; i = Interlocked.Increment(ref next))
            {
                summaries[i] = FhirImportSummary.Read(await PostAsync(http, bundles[i], ct));
                Console.Error.WriteLine($"  {Path.GetFileName(files[i])}: {summaries[i].Added} resources");
            }
        }, ct)));
        var importSeconds = clock.Elapsed.TotalSeconds;
        var resources = summaries.Sum(s => s.Added);
        var transactions = summaries.Sum(s => s.Transactions.Count);

        // The same events, appended again as they were stored: per transaction, to a fresh stream at the same versions.
        var store = service.Services.GetRequiredService<IEventStore>();
        var appends = new List<(string Stream, long Expected, List<EventEnvelope> Events)>();
        foreach (var patient in summaries.Select(s => s.PatientId))
        {
            var stream = new List<EventEnvelope>();
            await foreach (var e in store.ReadStreamAsync($"patient-{patient}", 0, ct)) stream.Add(e);
            foreach (var transaction in stream.GroupBy(e => e.Endorsement?.FirstVersion ?? e.Version))
                appends.Add(($"bench-raw-{patient:N}", transaction.Key - 1, [.. transaction]));
        }
        var events = appends.Sum(a => a.Events.Count);
        Console.Error.WriteLine($"Appending the same {events} events in {appends.Count} transactions, raw ...");
        clock.Restart();
        next = -1;
        // Streams in the order of their first append, each client taking whole streams (their appends are ordered).
        var streams = appends.GroupBy(a => a.Stream).Select(g => g.ToList()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < streams.Length; i = Interlocked.Increment(ref next))
                foreach (var (stream, expected, batch) in streams[i])
                    await store.AppendAsync(stream, expected < 0 ? ExpectedVersion.NoStream : ExpectedVersion.After(expected),
                        [.. batch.Select(e => new ProposedEvent(Guid.NewGuid(), e.Type, e.Data, e.Metadata))], batch[0].Endorsement, ct);
        }, ct)));
        var rawSeconds = clock.Elapsed.TotalSeconds;

        Report(bundles.Length, resources, events, transactions, importSeconds, validation, rawSeconds, clients, load);
        return 0;
    }

    private sealed record Validation(double Seconds, int Resources);

    private static async Task<Validation> MeasureValidationAsync(string[] bundles, CancellationToken ct)
    {
        var parsed = bundles.Select(ParsedBundle.Parse).ToArray();
        var clock = Stopwatch.StartNew();
        foreach (var p in parsed) await FhirValidation.Shared.ValidateAsync(p.Model, ct);
        return new(clock.Elapsed.TotalSeconds, parsed.Sum(p => p.Model.Entry.Count));
    }

    private static void Report(int bundles, int resources, int events, int transactions, double importSeconds, Validation validation,
        double rawSeconds, int clients, string load)
    {
        var rawResources = resources / rawSeconds;
        Console.WriteLine();
        Console.WriteLine($"FHIR import benchmark: {bundles} Synthea bundles, {resources:N0} resources imported ({events:N0} events in " +
                          $"{transactions:N0} endorsed transactions), {clients} client(s), {Environment.ProcessorCount} cores, load average {load} at start");
        Console.WriteLine();
        Console.WriteLine($"{"case",-52} {"seconds",8} {"resources/s",12} {"events/s",10} {"vs raw",8}");
        Console.WriteLine(new string('-', 94));
        Row("import over HTTP (POST /fhir, 2-of-3 endorsed)", importSeconds, resources / importSeconds, events / importSeconds, resources / importSeconds / rawResources);
        Row($"  validation alone ({validation.Resources:N0} resources incl. skipped)", validation.Seconds, validation.Resources / validation.Seconds, double.NaN, double.NaN);
        Row("raw append of the same events (same store)", rawSeconds, rawResources, events / rawSeconds, 1);
        Console.WriteLine();
        Console.WriteLine("raw: the stored events (data, metadata, endorsement) appended again per transaction to fresh streams through the");
        Console.WriteLine("event store port — no parsing, validation, sealing or endorsement; resources/s counts the imported resources they carry");
    }

    private static void Row(string name, double seconds, double resourcesPerSecond, double eventsPerSecond, double ratio) =>
        Console.WriteLine($"{name,-52} {seconds,8:N1} {resourcesPerSecond,12:N0} {(double.IsNaN(eventsPerSecond) ? "-" : eventsPerSecond.ToString("N0")),10} " +
                          $"{(double.IsNaN(ratio) ? "-" : ratio.ToString("P1")),8}");

    private static async Task<JsonElement> PostAsync(HttpClient http, string bundle, CancellationToken ct)
    {
        using var content = new StringContent(bundle, Encoding.UTF8, "application/fhir+json");
        using var response = await http.PostAsync("/fhir", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /fhir answered {(int)response.StatusCode}: {body[..Math.Min(300, body.Length)]}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>A small bundle of a patient of its own, sent once before measuring.</summary>
    private const string WarmUpBundle = """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:0b0b0000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"urn:bench","value":"warm-up"}],
            "name":[{"family":"Warm","given":["Up"]}],"gender":"female","birthDate":"1970-01-01"},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:0b0b0000-0000-4000-8000-000000000002","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:0b0b0000-0000-4000-8000-000000000001"},
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]}},"request":{"method":"POST","url":"Condition"}}]}
        """;

    private static string? SamplesFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HealthEvents.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fhir-samples", "synthea-r4"));
        return null;
    }
}
