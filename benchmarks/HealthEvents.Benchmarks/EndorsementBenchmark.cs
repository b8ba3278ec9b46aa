using System.Diagnostics;
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
/// endorsement next to the same path unendorsed, in one run on one private durable PostgreSQL.
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
            await using var unendorsed = await ProviderAsync(cs, database.DataDir, endorse: false, ct);
            await endorsed.GetRequiredService<NetworkGenesis>().SeedIfEmptyAsync(
                new GenesisFile([new("northside", "Northside", EndorserClients.InProcess), new("riverside", "Riverside", EndorserClients.InProcess),
                    new("lakeside", "Lakeside", EndorserClients.InProcess)], [new("northside", "doc", Role.Physician)], [], null), ct);

            var rows = new List<string>();
            foreach (var clients in new[] { 1, 16 })
            {
                var patients = await RegisterAsync(endorsed, clients * 4, ct);
                var plain = await MeasureAsync("unendorsed", unendorsed, patients, clients, measure, ct);
                var signed = await MeasureAsync("endorsed 2 of 3", endorsed, patients, clients, measure, ct);
                rows.Add(Row("unendorsed", clients, plain, plain.Rate));
                rows.Add(Row("endorsed 2 of 3", clients, signed, plain.Rate));
            }
            Console.WriteLine($"{"case",-18} {"clients",7} {"commands/s",11} {"p50 ms",8} {"p99 ms",8} {"vs unendorsed",14}");
            foreach (var row in rows) Console.WriteLine(row);
            return 0;
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private sealed record Measured(double Rate, double P50, double P99);

    private static string Row(string name, int clients, Measured m, double baseline) =>
        $"{name,-18} {clients,7} {m.Rate,11:N0} {m.P50,8:0.00} {m.P99,8:0.00} {m.Rate / baseline,14:0.00}";

    private static async Task<ServiceProvider> ProviderAsync(string cs, string dataDir, bool endorse, CancellationToken ct)
    {
        var configuration = new ConfigurationBuilder().Build();
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
        var all = (await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Client(c, measure)))).SelectMany(l => l).Order().ToList();
        return new(all.Count / measure.TotalSeconds, all[all.Count / 2], all[(int)(all.Count * 0.99)]);
    }
}
