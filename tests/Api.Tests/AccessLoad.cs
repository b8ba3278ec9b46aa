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

    /// <summary>The problem code of every 409 answered (a concurrency conflict must carry Retry-After).</summary>
    public ConcurrentBag<string> Conflicts { get; } = new();

    /// <summary>A client with the demo token named <paramref name="name"/> ("alice (patient)").</summary>
    public HttpClient Client(string name)
    {
        var tokens = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "demo", "tokens.json"))).RootElement.GetProperty("tokens");
        var token = tokens.EnumerateArray().Single(t => t.GetProperty("name").GetString() == name).GetProperty("token").GetString()!;
        return new HttpClient { BaseAddress = address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
    }

    /// <summary>
    /// Runs <paramref name="writers"/> writers until <paramref name="stop"/>. Each command carries an Idempotency-Key and is
    /// retried under it until answered (200, or a recorded 403) when the service or its database is away — what a
    /// clinical system does, and what would store a command twice if anything did. Every 503 must say when to come back.
    /// </summary>
    public Task RunAsync(int writers, CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
    {
        using var client = Client("riverside physician");
        while (!stop.IsCancellationRequested)
        {
            var key = Guid.NewGuid().ToString();
            for (var answered = false; !answered;)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"/patients/{Alice}/access")
                    {
                        Content = JsonContent.Create(new { purpose = "treatment", categories = new[] { "conditions" } }, options: Json.Options),
                        Headers = { { "Idempotency-Key", key } },
                    };
                    using var response = await client.SendAsync(request, CancellationToken.None);
                    Statuses.Add((int)response.StatusCode);
                    if (response.StatusCode == HttpStatusCode.OK)
                        foreach (var id in (await response.JsonAsync()).GetProperty("receipt").GetProperty("eventIds").EnumerateArray())
                            Acknowledged.Add(id.GetGuid());
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                        Assert.NotNull(response.Headers.RetryAfter);
                    var conflict = response.StatusCode == HttpStatusCode.Conflict ? (await response.JsonAsync()).GetProperty("code").GetString()! : null;
                    if (conflict is not null) Conflicts.Add(conflict);
                    if (conflict == "concurrency-conflict") Assert.NotNull(response.Headers.RetryAfter);
                    // A 409 "in progress" is the first try still (or, after a crash, lately) holding the key: try again.
                    answered = (int)response.StatusCode < 500 && conflict != "idempotency-key-in-progress";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Statuses.Add(0); // the service is away (killed, restarting)
                }
                if (!answered) await Task.Delay(50, CancellationToken.None);
                if (stop.IsCancellationRequested) break; // unanswered: not acknowledged, so nothing is claimed of it
            }
        }
    })));

    /// <summary>Waits until at least <paramref name="count"/> commands were acknowledged (the load is really running).</summary>
    public async Task AcknowledgedAtLeastAsync(int count, TimeSpan within)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Acknowledged.Count < count)
        {
            Assert.True(waited.Elapsed < within, $"only {Acknowledged.Count} of {count} commands were acknowledged within {within.TotalSeconds} s");
            await Task.Delay(50);
        }
    }
}
