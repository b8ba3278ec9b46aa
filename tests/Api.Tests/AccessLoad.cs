using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Load for the fault tests: writers sending a Riverside physician's access requests to Alice's record against a
/// service started from <paramref name="data"/>, remembering the event ids of every acknowledged command and every status.
/// </summary>
public sealed class AccessLoad(Uri address, string data)
{
    public const string Alice = "a11ce000-0000-4000-8000-000000000001";

    public ConcurrentBag<Guid> Acknowledged { get; } = new();

    /// <summary>Every answer's status; 0 where the service did not answer at all.</summary>
    public ConcurrentBag<int> Statuses { get; } = new();

    /// <summary>A client with the demo token named <paramref name="name"/> ("alice (patient)").</summary>
    public HttpClient Client(string name)
    {
        var tokens = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "demo", "tokens.json"))).RootElement.GetProperty("tokens");
        var token = tokens.EnumerateArray().Single(t => t.GetProperty("name").GetString() == name).GetProperty("token").GetString()!;
        return new HttpClient { BaseAddress = address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
    }

    /// <summary>Runs <paramref name="writers"/> writers until <paramref name="stop"/>; every 503 must say when to come back.</summary>
    public Task RunAsync(int writers, CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
    {
        using var client = Client("riverside physician");
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await client.PostAsJsonAsync($"/patients/{Alice}/access",
                    new { purpose = "treatment", categories = new[] { "conditions" } }, Json.Options, CancellationToken.None);
                Statuses.Add((int)response.StatusCode);
                if (response.StatusCode == HttpStatusCode.OK)
                    foreach (var id in (await response.JsonAsync()).GetProperty("receipt").GetProperty("eventIds").EnumerateArray())
                        Acknowledged.Add(id.GetGuid());
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    Assert.NotNull(response.Headers.RetryAfter);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Statuses.Add(0); // the service is away (killed, restarting)
                await Task.Delay(50, CancellationToken.None);
            }
        }
    })));
}
