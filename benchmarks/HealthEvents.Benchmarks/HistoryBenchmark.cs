using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Projections;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using Marten;
using Marten.Linq;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static HealthEvents.Benchmarks.HistoryPlan;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Issue 13's goals on a large history, each next to its baseline from the same run, on the service as ./run.sh starts it:
/// <list type="number">
/// <item>the signature microbenchmark: ECDSA P-256 verifications/s (one thread, as the verifier runs; and all cores);</item>
/// <item>a history of N events (default 1,000,000) written straight into the store's events table (binary COPY, see
/// <see cref="EndorsedHistory"/>), every transaction hash-chained as the store links it and endorsed for real by two of
/// the demo network's three hospitals (their endorsement keys, K transactions per signed RFC 9162 root with
/// <c>--batch K</c>); the service's projections take it in meanwhile;</item>
/// <item>the patient's audit page (<c>GET /patients/{id}/audit?order=newest</c>, 50 rows, with the patient's token, over
/// HTTP, one client) against the raw SQL of the same query (Marten's own command for it, run through Npgsql), p50/p99
/// over the same random patients;</item>
/// <item>whole-store verification (<see cref="StoreVerifier"/>, as <c>verify</c> runs it: chains, endorsements, policies)
/// in events/s, against the single-thread microbenchmark.</item>
/// </list>
///   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- history [--events N] [--requests R] [--batch K]
/// </summary>
public static class HistoryBenchmark
{
    private const int Writers = 8;

    /// <summary>What one history run measured: page latencies in milliseconds, verification in events/s, signatures per second.</summary>
    public sealed record Result(long Events, int Patients, int Batch, SignatureMicrobenchmark.Result Micro, Latency Http, Latency Sql, Verification Verification);

    public static async Task<int> RunAsync(long events, int requests, int batch, CancellationToken ct)
    {
        var (total, patients, _, micro, http, sql, verification) = await MeasureAsync(events, requests, batch, ct);
        Console.WriteLine();
        Console.WriteLine($"A history of {total:N0} endorsed events ({patients:N0} patients, {batch} transaction(s) per signed root), " +
                          $"one run, {Environment.ProcessorCount} cores, the service with its projections, durable PostgreSQL:");
        Console.WriteLine($"  {"",-44} {"p50",9} {"p99",9}");
        Console.WriteLine($"  {"audit page over HTTP (newest 50 rows)",-44} {http.P50,7:N2}ms {http.P99,7:N2}ms");
        Console.WriteLine($"  {"the same query's raw SQL",-44} {sql.P50,7:N2}ms {sql.P99,7:N2}ms");
        Console.WriteLine($"  {"ratio (goal <= 5x at p99)",-44} {http.P50 / sql.P50,8:N1}x {http.P99 / sql.P99,8:N1}x");
        Console.WriteLine($"  {"whole-store verification",-44} {verification.EventsPerSecond,10:N0} events/s ({verification.Events:N0} events, {verification.Seconds:N1} s, {(verification.Verified ? "verified" : "NOT verified")})");
        Console.WriteLine($"  {"P-256 signature verifications, one thread",-44} {micro.OneThread,10:N0} /s   ratio {verification.EventsPerSecond / micro.OneThread:N2}x (goal >= 0.8x)");
        Console.WriteLine($"  {"P-256 signature verifications, all cores",-44} {micro.AllCores,10:N0} /s   ratio {verification.EventsPerSecond / micro.AllCores:N2}x");
        return verification.Verified ? 0 : 1;
    }

    /// <summary>
    /// The signature microbenchmark, then a history of <paramref name="events"/> endorsed events on a fresh service, its
    /// audit pages (<paramref name="requests"/> of them) against their raw SQL, and whole-store verification.
    /// </summary>
    public static async Task<Result> MeasureAsync(long events, int requests, int batch, CancellationToken ct)
    {
        var micro = SignatureMicrobenchmark.Run(TimeSpan.FromSeconds(3));
        Console.Error.WriteLine($"signature verification: {micro.OneThread:N0}/s on one thread, {micro.AllCores:N0}/s on {Environment.ProcessorCount} cores");

        await using var service = await BenchService.StartAsync("history", null, ct);
        var store = service.Services.GetRequiredService<IEventStore>();
        var keyring = new HospitalKeyring(Path.Combine(service.DataFolder, "keys"));
        var hospitals = service.Services.GetRequiredService<NetworkDirectory>().Current.Hospitals.Keys.Order(StringComparer.Ordinal).ToArray();
        var generated = await EndorsedHistory.WriteAsync(service.PostgresConnectionString, keyring, hospitals, events, batch, Writers, ct);
        Console.Error.WriteLine($"history: {generated.Events:N0} events of {generated.Patients.Length:N0} patients in {generated.Transactions:N0} " +
                                $"endorsed transactions, written in {generated.Seconds:N1} s");

        await CatchUpAsync(service, generated.End, ct);
        var pages = await AuditPagesAsync(service, keyring, generated.Patients, requests, ct);
        var verification = await VerifyAsync(service, store, ct);
        return new(generated.Events, generated.Patients.Length, batch, micro, pages.Http, pages.Sql, verification);
    }

    /// <summary>Waits until every projection has applied the whole history, printing their progress.</summary>
    private static async Task CatchUpAsync(BenchService service, GlobalPosition end, CancellationToken ct)
    {
        var runner = service.Services.GetRequiredService<ProjectionRunner>();
        var clock = Stopwatch.StartNew();
        while (!await runner.WaitForAsync(end, TimeSpan.FromSeconds(5), ct))
        {
            var status = await runner.GetStatusAsync(ct);
            Console.Error.WriteLine($"  projections catching up ({clock.Elapsed.TotalSeconds:N0} s): " +
                                    string.Join(", ", status.Select(s => $"{s.Name} {s.EventsProcessed:N0}")));
        }
        Console.Error.WriteLine($"projections caught up in {clock.Elapsed.TotalSeconds:N1} s");
    }

    public sealed record Latency(double P50, double P99);

    /// <summary>The audit page over HTTP and its raw SQL, alternating per patient, so drifting load hits both alike.</summary>
    private static async Task<(Latency Http, Latency Sql)> AuditPagesAsync(
        BenchService service, HospitalKeyring keyring, PatientPlan[] patients, int requests, CancellationToken ct)
    {
        var random = new Random(7);
        var chosen = Enumerable.Range(0, requests).Select(_ => patients[random.Next(patients.Length)]).ToArray();
        var tokens = chosen.DistinctBy(p => p.Id).ToDictionary(p => p.Id, p =>
            Tokens.Mint(keyring, p.Home, $"patient-{p.Id:N}", Role.Patient, p.Id, TimeSpan.FromHours(2), DateTimeOffset.UtcNow));
        var readModels = service.Services.GetRequiredService<ReadModelStore>();
        await using var sql = new NpgsqlConnection(service.PostgresConnectionString);
        await sql.OpenAsync(ct);

        var http = new List<double>();
        var raw = new List<double>();
        for (var i = -20; i < chosen.Length; i++) // the first 20 warm both paths
        {
            var p = chosen[Math.Max(0, i)];
            var t0 = Stopwatch.GetTimestamp();
            using (var request = new HttpRequestMessage(HttpMethod.Get, $"/patients/{p.Id}/audit?order=newest&limit=50"))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[p.Id]);
                using var response = await service.Http.SendAsync(request, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"the audit page answered {(int)response.StatusCode}");
            }
            var t1 = Stopwatch.GetTimestamp();
            await RawPageAsync(readModels, sql, p.Id, ct);
            var t2 = Stopwatch.GetTimestamp();
            if (i < 0) continue;
            http.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
            raw.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
        }
        return (Summarise(http), Summarise(raw));
    }

    /// <summary>
    /// The SQL Marten runs for the patient page's query (<see cref="AuditQuery.QueryAsync"/> with order=newest, no
    /// filters, 50 rows and one to tell whether a next page exists), run straight through Npgsql, every row read.
    /// </summary>
    private static async Task RawPageAsync(ReadModelStore readModels, NpgsqlConnection sql, Guid patientId, CancellationToken ct)
    {
        NpgsqlCommand command;
        await using (var session = await readModels.QuerySessionAsync(ct))
            command = session.Query<AuditEntry>()
                .Where(x => x.PatientId == patientId && (x.StreamVersion < long.MaxValue || (x.StreamVersion == long.MaxValue && x.Sequence < long.MaxValue)))
                .OrderByDescending(x => x.StreamVersion).ThenByDescending(x => x.Sequence).Take(AuditQuery.DefaultLimit + 1)
                .ToCommand(FetchType.FetchMany);
        command.Connection = sql;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            for (var c = 0; c < reader.FieldCount; c++) _ = reader.GetValue(c);
        await command.DisposeAsync();
    }

    private static Latency Summarise(List<double> ms)
    {
        var sorted = ms.Order().ToArray();
        return new(sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(sorted.Length * 0.50))], sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(sorted.Length * 0.99))]);
    }

    public sealed record Verification(long Events, double Seconds, bool Verified)
    {
        public double EventsPerSecond => Events / Seconds;
    }

    /// <summary>Whole-store verification as the <c>verify</c> verb runs it (without its ledger pass).</summary>
    private static async Task<Verification> VerifyAsync(BenchService service, IEventStore store, CancellationToken ct)
    {
        var serializer = service.Services.GetRequiredService<Application.Serialization.EventSerializer>();
        var checker = await EndorsementChecker.LoadAsync(store, serializer, ct: ct);
        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions
        {
            EndorsementChecker = checker,
            Genesis = service.Services.GetRequiredService<NetworkGenesisPin>(),
            ProgressInterval = 100_000,
            Progress = p => Console.Error.WriteLine($"  verifying: {p.Events:N0} events in {p.Streams:N0} streams, {p.EventsPerSecond:N0}/s"),
        }, ct);
        foreach (var problem in report.Problems.Take(5)) Console.Error.WriteLine($"  problem: {problem.StreamId} v{problem.Version}: {problem.Code}: {problem.Message}");
        return new(report.Events, report.Elapsed.TotalSeconds, report.Verified);
    }
}

/// <summary>ECDSA P-256 (SHA-256, IEEE P1363) verifications per second of a 32-byte message: the verifier's unit of work.</summary>
public static class SignatureMicrobenchmark
{
    public sealed record Result(double OneThread, double AllCores);

    public static Result Run(TimeSpan each)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        var message = SHA256.HashData("a transaction hash"u8);
        var signature = EndorsementSignatures.Sign(key, message);
        Measure(publicKey, message, signature, TimeSpan.FromSeconds(0.5)); // JIT and the key cache
        var one = Measure(publicKey, message, signature, each);
        var all = Enumerable.Range(0, Environment.ProcessorCount).AsParallel().WithDegreeOfParallelism(Environment.ProcessorCount)
            .Select(_ => Measure(publicKey, message, signature, each)).Sum();
        return new(one, all);
    }

    private static double Measure(string publicKey, byte[] message, byte[] signature, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < duration)
        {
            if (!EndorsementSignatures.Verify(publicKey, message, signature)) throw new InvalidOperationException("The signature does not verify.");
            n++;
        }
        return n / clock.Elapsed.TotalSeconds;
    }
}
