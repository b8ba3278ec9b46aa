using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using HealthEvents.Api.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The private PostgreSQL killed under load: commands answer 503 with Retry-After meanwhile (never 500), the service
/// starts the database again by itself, every acknowledged command is stored exactly once, and the trail verifies.
/// </summary>
public sealed class DatabaseFaultTests
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";

    [Fact]
    public async Task The_private_database_killed_under_load_comes_back_and_loses_nothing()
    {
        var data = Path.Combine(Path.GetTempPath(), "he-fault-" + Guid.NewGuid().ToString("N"));
        var app = await HealthEventsApp.BuildAsync(["--urls", "http://127.0.0.1:0", $"--HEALTHEVENTS_DATA={data}"]);
        try
        {
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            var load = new AccessLoad(address, data);
            using var stop = new CancellationTokenSource();
            var writers = load.RunAsync(4, stop.Token);

            await load.AcknowledgedAtLeastAsync(5, TimeSpan.FromSeconds(60)); // under load before the fault
            var postmaster = int.Parse((await File.ReadAllLinesAsync(Path.Combine(data, "postgres", "postmaster.pid")))[0]);
            Process.GetProcessById(postmaster).Kill();
            var before = load.Acknowledged.Count;

            // Back by itself: readiness, then commands acknowledged again, every interrupted one retried under its key.
            using var probe = new HttpClient { BaseAddress = address };
            var waited = Stopwatch.StartNew();
            // Readiness may still say OK for a moment after the kill (nothing has noticed yet), so "back" is proven by
            // commands acknowledged again after the kill, not by one readiness answer.
            HttpStatusCode ready;
            while ((ready = (await probe.GetAsync("/health/ready")).StatusCode) != HttpStatusCode.OK && waited.Elapsed < TimeSpan.FromSeconds(90))
                await Task.Delay(500);
            Assert.Equal(HttpStatusCode.OK, ready);
            await load.AcknowledgedAtLeastAsync(before + 5, TimeSpan.FromSeconds(90));
            await stop.CancelAsync();
            await writers;

            Assert.DoesNotContain(500, load.Statuses);
            Assert.Contains(200, load.Statuses);
            var stored = new List<Guid>();
            await foreach (var e in app.Services.GetRequiredService<Application.Ports.IEventStore>().ReadStreamAsync($"patient-{Alice}"))
                stored.Add(e.EventId);
            foreach (var id in load.Acknowledged) Assert.Equal(1, stored.Count(s => s == id));
            using var alice = load.Client("alice (patient)");
            var verification = await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync();
            Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());
        }
        finally
        {
            await app.StopAsync(); // clean whatever state the database is in
            await app.DisposeAsync();
            try { Directory.Delete(data, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
