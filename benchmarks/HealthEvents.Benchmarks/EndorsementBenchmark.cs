using System.Diagnostics;
using System.Diagnostics.Metrics;
using HealthEvents.Application;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `--endorsement`: the whole command path (load, decide, endorse, append) with 2-of-3 in-process
/// endorsement — concurrent proposals batched (the default) and each endorsed alone (Endorsement:BatchMaxSize=1) — next
/// to the same path unendorsed, in one run on one private durable PostgreSQL, with the P-256 signatures made and
/// checked per command.
/// Each client writes to its own patients, so the figures measure endorsement, not stream contention.
/// </summary>
public static class EndorsementBenchmark
{
    public static async Task<int> RunAsync(TimeSpan measure, CancellationToken ct)
    {
        var database = await BenchDatabase.StartAsync("bench-endorse", ct);
        try
        {
            var cs = database.ConnectionString;
            await using var endorsed = await ProviderAsync(cs, database.DataDir, endorse: true, ct);
            await using var unbatched = await ProviderAsync(cs, database.DataDir, endorse: true, ct, ("Endorsement:BatchMaxSize", "1"));
            await using var unendorsed = await ProviderAsync(cs, database.DataDir, endorse: false, ct);
            await endorsed.GetRequiredService<NetworkGenesis>().SeedIfEmptyAsync(
                new GenesisFile([new("northside", "Northside", EndorserClients.InProcess), new("riverside", "Riverside", EndorserClients.InProcess),
                    new("lakeside", "Lakeside", EndorserClients.InProcess)], [new("northside", "doc", Role.Physician)], [], null), ct);
            // The second endorsed node learns the network the first one founded, as a node does from the store.
            await unbatched.GetRequiredService<Application.Network.NetworkDirectory>().RefreshAsync(ct);

            var rows = new List<string>();
            foreach (var clients in new[] { 1, 16 })
            {
                var patients = await RegisterAsync(endorsed, clients * 4, ct);
                var plain = await MeasureAsync("unendorsed", unendorsed, patients, clients, measure, ct);
                var single = await MeasureAsync("endorsed 2 of 3, unbatched", unbatched, patients, clients, measure, ct);
                var batched = await MeasureAsync("endorsed 2 of 3, batched", endorsed, patients, clients, measure, ct);
                rows.Add(Row("unendorsed", clients, plain, plain.Rate));
                rows.Add(Row("endorsed, unbatched", clients, single, plain.Rate));
                rows.Add(Row("endorsed, batched", clients, batched, plain.Rate));
            }
            Console.WriteLine($"{"case",-20} {"clients",7} {"commands/s",11} {"p50 ms",8} {"p99 ms",8} {"vs unendorsed",14} {"signs/cmd",10} {"verifies/cmd",13} {"batch",6}");
            foreach (var row in rows) Console.WriteLine(row);
            Console.WriteLine("signs/verifies per command: every P-256 signature made and checked on the command path (submitter and the three");
            Console.WriteLine("in-process endorsers, including stragglers); batch: mean proposals per endorsement round.");
            return 0;
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private sealed record Measured(double Rate, double P50, double P99, double Signs, double Verifies, double Batch);

    private static string Row(string name, int clients, Measured m, double baseline) =>
        $"{name,-20} {clients,7} {m.Rate,11:N0} {m.P50,8:0.00} {m.P99,8:0.00} {m.Rate / baseline,14:0.00} {m.Signs,10:0.00} {m.Verifies,13:0.00} {(m.Batch > 0 ? m.Batch.ToString("0.0") : "-"),6}";

    /// <summary>Counts the crypto operations and endorsement rounds the service reports through its meters.</summary>
    private sealed class CryptoCounts : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _signs, _verifies, _rounds, _proposals;

        public CryptoCounts()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name is "healthevents.crypto.operations" or "healthevents.endorsement.batch.size") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "healthevents.operation") Interlocked.Add(ref (Equals(tag.Value, "sign") ? ref _signs : ref _verifies), value);
            });
            _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
            {
                Interlocked.Increment(ref _rounds);
                Interlocked.Add(ref _proposals, value);
            });
            _listener.Start();
        }

        public (long Signs, long Verifies, long Rounds, long Proposals) Read() =>
            (Interlocked.Read(ref _signs), Interlocked.Read(ref _verifies), Interlocked.Read(ref _rounds), Interlocked.Read(ref _proposals));

        public void Dispose() => _listener.Dispose();
    }

    private static async Task<ServiceProvider> ProviderAsync(
        string cs, string dataDir, bool endorse, CancellationToken ct, params (string Key, string Value)[] settings)
    {
        // Endorsement settings from the environment (Endorsement__BatchWindowMilliseconds=5 ...) try other batching; the case's own win.
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(configuration, cs, dataDir);
        if (endorse) services.AddHealthEventsEndorsement(configuration);
        var provider = services.BuildServiceProvider();
        await provider.InitializeHealthEventsStorageAsync(ct);
        return provider;
    }

    private static async Task<Guid[]> RegisterAsync(IServiceProvider services, int count, CancellationToken ct)
    {
        var patients = services.GetRequiredService<PatientStream>();
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
            await patients.ExecuteAsync(id, at => new RegisterPatient(id, "northside", 1970, Sex.Unknown, "AQID", Doctor, at), CommandContext.For(Doctor), ct);
        return ids;
    }

    private static readonly Actor Doctor = new("doc", Role.Physician, "northside");

    private static async Task<Measured> MeasureAsync(string name, IServiceProvider services, Guid[] patients, int clients, TimeSpan measure, CancellationToken ct)
    {
        var commands = services.GetRequiredService<PatientStream>();
        var content = Convert.ToBase64String(new byte[300]);
        async Task<List<double>> Client(int client, TimeSpan duration)
        {
            var latencies = new List<double>();
            var clock = Stopwatch.StartNew();
            for (var i = 0; clock.Elapsed < duration && !ct.IsCancellationRequested; i++)
            {
                var patient = patients[client + clients * (i % (patients.Length / clients))];
                var started = Stopwatch.GetTimestamp();
                await commands.ExecuteAsync(patient, at => new AddRecordEntry(Guid.NewGuid(), Category.Conditions, "icd-10", "E11", content, at, Doctor, at),
                    CommandContext.For(Doctor), ct);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return latencies;
        }

        Console.Error.WriteLine($"  {name}, {clients} client(s): warming up, then {measure.TotalSeconds:0} s ...");
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Client(c, TimeSpan.FromSeconds(1))));
        using var counts = new CryptoCounts();
        var all = (await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Client(c, measure)))).SelectMany(l => l).Order().ToList();
        // Stragglers (the third endorser, not waited for) still count: they are work the machine does per command.
        var (signs, verifies, rounds, proposals) = counts.Read();
        return new(all.Count / measure.TotalSeconds, all[all.Count / 2], all[(int)(all.Count * 0.99)],
            (double)signs / all.Count, (double)verifies / all.Count, rounds == 0 ? 0 : (double)proposals / rounds);
    }
}
