using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Serialization;
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
            var tokens = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(data, "demo", "tokens.json"))).RootElement.GetProperty("tokens");
            string Token(string name) => tokens.EnumerateArray().Single(t => t.GetProperty("name").GetString() == name).GetProperty("token").GetString()!;
            HttpClient Client(string name) => new() { BaseAddress = address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", Token(name)) } };

            var acknowledged = new ConcurrentBag<Guid>();
            var statuses = new ConcurrentBag<int>();
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                using var client = Client("riverside physician");
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var response = await client.PostAsJsonAsync($"/patients/{Alice}/access",
                            new { purpose = "treatment", categories = new[] { "conditions" } }, Json.Options);
                        statuses.Add((int)response.StatusCode);
                        if (response.StatusCode == HttpStatusCode.OK)
                            foreach (var id in (await response.JsonAsync()).GetProperty("receipt").GetProperty("eventIds").EnumerateArray())
                                acknowledged.Add(id.GetGuid());
                        else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                            Assert.NotNull(response.Headers.RetryAfter);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        statuses.Add(0);
                    }
                }
            })).ToList();

            await Task.Delay(1500);
            var postmaster = int.Parse((await File.ReadAllLinesAsync(Path.Combine(data, "postgres", "postmaster.pid")))[0]);
            Process.GetProcessById(postmaster).Kill();
            await Task.Delay(6000);
            await stop.CancelAsync();
            await Task.WhenAll(clients);

            // Back by itself: readiness, then a command.
            using var probe = new HttpClient { BaseAddress = address };
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < TimeSpan.FromSeconds(90) && (await probe.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
                await Task.Delay(500);
            Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health/ready")).StatusCode);

            Assert.DoesNotContain(500, statuses);
            Assert.Contains(200, statuses);
            var stored = new List<Guid>();
            await foreach (var e in app.Services.GetRequiredService<Application.EventStore.IEventStore>().ReadStreamAsync($"patient-{Alice}"))
                stored.Add(e.EventId);
            foreach (var id in acknowledged) Assert.Equal(1, stored.Count(s => s == id));
            using var alice = Client("alice (patient)");
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
