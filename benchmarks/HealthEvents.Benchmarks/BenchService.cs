using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Benchmarks;

/// <summary>
/// The service as ./run.sh starts it — its own durable private PostgreSQL in a throw-away data folder, the demo network
/// with in-process 2-of-3 endorsement, projections running — on loopback, with a Northside physician's client and that
/// physician's patients. Events go to PostgreSQL, or to EventStoreDB when given a connection string (under a stream prefix
/// of its own, so it shares the server with the baselines without seeing them).
/// </summary>
public sealed class BenchService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _data;

    private BenchService(WebApplication app, string data, HttpClient http)
    {
        _app = app;
        _data = data;
        Http = http;
    }

    /// <summary>A client of the service with a Northside physician's bearer token (an hour).</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The service's data folder (HEALTHEVENTS_DATA): its keys under <c>keys/</c>, its PostgreSQL under <c>pg/</c>.</summary>
    public string DataFolder => _data;

    /// <summary>The PostgreSQL the service runs on (its private one): where the raw INSERT baseline writes.</summary>
    public string PostgresConnectionString => Services.GetRequiredService<PostgresHosting>().ConnectionString;

    /// <param name="settings">More <c>--Section:Key=value</c> settings for the service (e.g. <c>--EventStore:GroupCommit=false</c>).</param>
    public static async Task<BenchService> StartAsync(string name, string? eventStoreDb, CancellationToken ct, params string[] settings)
    {
        var data = Path.Combine(Path.GetTempPath(), $"healthevents-{name}-" + Guid.NewGuid().ToString("N")[..12]);
        Console.Error.WriteLine($"Starting the service on {(eventStoreDb is null ? "PostgreSQL" : "EventStoreDB")} (data folder {data}) ...");
        string[] store = eventStoreDb is null ? [] :
            ["--EventStore:Provider=EventStoreDB", $"--ConnectionStrings:EventStoreDB={eventStoreDb}", $"--EventStore:StreamPrefix={NewPrefix()}"];
        // Not cancellable: it starts the private PostgreSQL and, should it fail, stops it again itself. Ctrl+C meanwhile
        // is seen by StartAsync below, once there is an app to stop.
        WebApplication app;
        try
        {
            app = await HealthEventsApp.BuildAsync(["--urls", "http://127.0.0.1:0", $"--HEALTHEVENTS_DATA={data}",
                    // Many commands from one caller: the fair-use bucket is not what is measured.
                    "--HealthEvents:RateLimit:PermitsPerSecond=1000000", "--HealthEvents:RateLimit:Burst=1000000", .. store, .. settings],
                b =>
                {
                    b.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
                    b.Services.AddSingleton<IHostLifetime, Interruption.HostedLifetime>();
                });
        }
        catch
        {
            RemoveFolder(data);
            throw;
        }
        try
        {
            await app.StartAsync(ct);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var token = Tokens.Mint(new HospitalKeyring(Path.Combine(data, "keys")), "northside", "northside-physician", Role.Physician, null,
                TimeSpan.FromHours(1), DateTimeOffset.UtcNow);
            var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(10) }; // a large FHIR bundle on a busy machine
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return new BenchService(app, data, http);
        }
        catch
        {
            await StopAsync(app, data);
            throw;
        }
    }

    /// <summary>A stream prefix of its own on a shared EventStoreDB: "bench", 12 hex digits, "-".</summary>
    public static string NewPrefix() => "bench" + Guid.NewGuid().ToString("N")[..12] + "-";

    /// <summary>Registers <paramref name="count"/> Northside patients over HTTP; their ids.</summary>
    public async Task<Guid[]> RegisterPatientsAsync(int count, CancellationToken ct)
    {
        var ids = new Guid[count];
        for (var i = 0; i < count; i++)
        {
            using var response = await Http.PostAsJsonAsync("/patients",
                new { homeHospital = "northside", birthYear = 1950 + i % 60, sex = "unknown", name = $"Bench Patient {i}" }, ct);
            ids[i] = (await Answer(response, ct)).GetProperty("patientId").GetGuid();
        }
        return ids;
    }

    /// <summary>Commands answered 503 or 429 and sent again after Retry-After (the service was overloaded: endorsers too slow, say).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    private long _retries;

    /// <summary>
    /// One command: a diagnosis added to <paramref name="patient"/>'s record (sealed, 2-of-3 endorsed, one event), under an
    /// Idempotency-Key. Answered 503 or 429, it is sent again under the same key after Retry-After, as a clinical system
    /// does; its latency then includes the wait.
    /// </summary>
    public async Task AddEntryAsync(Guid patient, CancellationToken ct)
    {
        var (status, body) = await PostEntryAsync(patient, ct);
        if ((int)status is < 200 or > 299)
            throw new InvalidOperationException($"/patients/{patient}/entries answered {(int)status}: {body[..Math.Min(300, body.Length)]}");
    }

    /// <summary>The same command, answered with any status but 503 and 429 (those are sent again, as above): the status and body.</summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> PostEntryAsync(Guid patient, CancellationToken ct)
    {
        var key = Guid.NewGuid().ToString();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/patients/{patient}/entries")
            {
                Content = JsonContent.Create(new
                {
                    category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "E11.9", display = "Type 2 diabetes mellitus" },
                    text = "HbA1c 7.2 %, metformin 1 g twice daily continued; review in three months.",
                }),
                Headers = { { "Idempotency-Key", key } },
            };
            using var response = await Http.SendAsync(request, ct);
            if (response.StatusCode is not (System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.TooManyRequests))
                return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
            Interlocked.Increment(ref _retries);
            await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), ct);
        }
    }

    /// <summary>The last event the service stored on <paramref name="patient"/>'s stream, as the store holds it.</summary>
    public async Task<EventEnvelope> LastEventAsync(Guid patient, CancellationToken ct) =>
        await Services.GetRequiredService<IEventStore>().ReadLastAsync($"patient-{patient}", ct)
        ?? throw new InvalidOperationException($"No event on patient-{patient}.");

    private static async Task<JsonElement> Answer(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}: {body[..Math.Min(300, body.Length)]}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await StopAsync(_app, _data);
    }

    /// <summary>
    /// Stops the host, its private PostgreSQL (named: a host whose start was cancelled early never started its hosted
    /// services, so its own stop would leave the server running; a second stop does nothing) and removes the data folder.
    /// </summary>
    private static async Task StopAsync(WebApplication app, string data)
    {
        await app.StopAsync(CancellationToken.None);
        await app.Services.GetRequiredService<PostgresHosting>().StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        RemoveFolder(data);
    }

    private static void RemoveFolder(string data)
    {
        try { if (Directory.Exists(data)) Directory.Delete(data, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Console.Error.WriteLine($"could not remove {data}: {e.Message}"); }
    }
}

/// <summary>One clinical system: endorsed commands over HTTP to its own patients, one at a time.</summary>
public sealed class HttpCommandWorker(BenchService service, Guid[] patients, int index) : Worker(index)
{
    private int _next;

    public override Task RunOnceAsync(CancellationToken ct) => service.AddEntryAsync(patients[_next++ % patients.Length], ct);
}
