using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Serialization;
using HealthEvents.TestSupport;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Api.Tests;

/// <summary>Which event store a test's service runs on.</summary>
public enum TestStore
{
    /// <summary>The embedded PostgreSQL (a fresh database per service).</summary>
    PostgreSql,

    /// <summary>The EventStoreDB server HEALTHEVENTS_ESDB names, under a stream prefix of the service's own; PostgreSQL still holds keys and views.</summary>
    EventStoreDb,
}

/// <summary>
/// The whole service on Kestrel (loopback, a free port) over a fresh database, as ./run.sh starts it, with its logs
/// captured. On <see cref="TestStore.EventStoreDb"/> its events go to the shared EventStoreDB server under a fresh
/// stream prefix (<see cref="EventStoreDbPrefix"/>), so services of parallel tests never see each other's history.
/// </summary>
public sealed class ServiceHost : IAsyncDisposable
{
    /// <summary>Names the EventStoreDB server of the tests (esdb://host:port?tls=false); ./test.sh sets it.</summary>
    public const string EventStoreDbVariable = "HEALTHEVENTS_ESDB";
    public const string EventStoreDbSkipReason = "HEALTHEVENTS_ESDB is not set: no EventStoreDB server to test against";

    private readonly WebApplication _app;
    private readonly string _dataFolder;

    private ServiceHost(WebApplication app, string dataFolder, Uri address, CapturedLogs logs, string connectionString, string? eventStoreDbPrefix)
    {
        ConnectionString = connectionString;
        EventStoreDbPrefix = eventStoreDbPrefix;
        _app = app;
        _dataFolder = dataFolder;
        Address = address;
        Logs = logs;
    }

    public Uri Address { get; }
    public string DataFolder => _dataFolder;
    public string ConnectionString { get; }

    /// <summary>The prefix of this service's streams on EventStoreDB; null when it runs on PostgreSQL.</summary>
    public string? EventStoreDbPrefix { get; }

    public bool OnEventStoreDb => EventStoreDbPrefix is not null;

    /// <summary>The EventStoreDB server of the tests, or null (then EventStoreDB tests skip with <see cref="EventStoreDbSkipReason"/>).</summary>
    public static string? EventStoreDbConnectionString =>
        Environment.GetEnvironmentVariable(EventStoreDbVariable) is { Length: > 0 } cs ? cs : null;

    /// <summary>Raw SQL on the service's database: how the tests play an attacker with write access to the store. Returns the rows it changed.</summary>
    public async Task<int> ExecuteSqlAsync(string sql)
    {
        await using var conn = new Npgsql.NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, conn);
        return await cmd.ExecuteNonQueryAsync();
    }
    public CapturedLogs Logs { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<ServiceHost> StartAsync(TestStore store = TestStore.PostgreSql) => await StartAsync(await NewNodeAsync(store));

    /// <summary>
    /// A database and a data folder for a node that has not started yet (its endorsers may start first); on EventStoreDB
    /// also its stream prefix there (a letter, 12 hex digits and '-': unique per node, short in the server's names), and
    /// the server's connection string when it is not HEALTHEVENTS_ESDB's (a test's own cluster).
    /// </summary>
    public sealed record Node(string ConnectionString, string DataFolder, string? EventStoreDbPrefix = null, string? EventStoreDb = null)
    {
        /// <summary>A fresh stream prefix for a node on EventStoreDB.</summary>
        public static string NewPrefix() => $"t{Guid.NewGuid():N}"[..13] + "-";
    }

    /// <exception cref="InvalidOperationException">EventStoreDB asked for while HEALTHEVENTS_ESDB is unset (callers skip first).</exception>
    public static async Task<Node> NewNodeAsync(TestStore store = TestStore.PostgreSql)
    {
        if (store == TestStore.EventStoreDb && EventStoreDbConnectionString is null) throw new InvalidOperationException(EventStoreDbSkipReason);
        return new(await TestPostgres.CreateDatabaseAsync(), Path.Combine(Path.GetTempPath(), "he-api-" + Guid.NewGuid().ToString("N")),
            store == TestStore.EventStoreDb ? Node.NewPrefix() : null);
    }

    /// <param name="settings">More configuration, as "--Key=value" arguments.</param>
    public static Task<ServiceHost> StartAsync(Node node, params string[] settings) => StartAsync(node, null, settings);

    /// <param name="configure">More set-up of the host's builder (the observability tests add in-memory exporters).</param>
    /// <param name="settings">More configuration, as "--Key=value" arguments.</param>
    public static async Task<ServiceHost> StartAsync(Node node, Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var (connectionString, dataFolder, prefix, eventStoreDb) = node;
        var logs = new CapturedLogs();
        string[] eventStore = prefix is null ? [] :
            ["--EventStore:Provider=EventStoreDB", $"--ConnectionStrings:EventStoreDB={eventStoreDb ?? EventStoreDbConnectionString}", $"--EventStore:StreamPrefix={prefix}"];
        var app = await HealthEventsApp.BuildAsync(
            ["--urls", "http://127.0.0.1:0", $"--ConnectionStrings:Postgres={connectionString}", $"--HEALTHEVENTS_DATA={dataFolder}",
             "--HealthEvents:MaxRequestBodyBytes=16384", .. eventStore, .. settings],
            builder =>
            {
                builder.Logging.AddProvider(logs);
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
                configure?.Invoke(builder);
            });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServiceHost(app, dataFolder, new Uri(address), logs, connectionString, prefix);
    }

    /// <summary>
    /// Another node of the same hospitals on the same stores (a restart, or a second API node), with nothing cached: a copy
    /// of this node's data folder (its keys and founding pin), since a node deletes its data folder when it stops.
    /// </summary>
    /// <param name="configure">More set-up of the copy's host (as <see cref="StartAsync(Node, Action{WebApplicationBuilder}?, string[])"/>).</param>
    public async Task<ServiceHost> ColdCopyAsync(Action<WebApplicationBuilder>? configure = null)
    {
        var copy = Path.Combine(Path.GetTempPath(), "he-api-cold-" + Guid.NewGuid().ToString("N"));
        foreach (var file in Directory.EnumerateFiles(DataFolder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(DataFolder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return await StartAsync(new Node(ConnectionString, copy, EventStoreDbPrefix), configure);
    }

    /// <summary>A verb of the real executable (`./run.sh verify`, …) in a process of its own, on this service's PostgreSQL and data folder.</summary>
    public Task<ServiceProcess> RunVerbAsync(params string[] args) => OnEventStoreDb
        ? throw new NotSupportedException("Verbs are run here against a service on PostgreSQL.")
        : ServiceProcess.RunAsync(Path.GetTempPath(), new Dictionary<string, string?>
        {
            [HealthEvents.Api.Hosting.DataFolder.Variable] = _dataFolder,
            ["ConnectionStrings__Postgres"] = ConnectionString,
        }, args);

    public HttpClient Client(string? token = null)
    {
        // On a busy machine a large FHIR bundle may take minutes: the client waits as long as the suite's deadline, not 100 s.
        var client = new HttpClient { BaseAddress = Address, Timeout = 2 * Patience.Deadline };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private IReadOnlyList<DemoSeeder.DemoToken>? _tokens;

    /// <summary>A demo token by its name in {data}/demo/tokens.json ("riverside physician", "alice (patient)").</summary>
    public string Token(string name)
    {
        _tokens ??= JsonSerializer.Deserialize<DemoSeeder.DemoTokens>(
            File.ReadAllBytes(Path.Combine(_dataFolder, "demo", "tokens.json")), Json.Options)!.Tokens;
        return _tokens.Single(t => t.Name == name).Token;
    }

    public HttpClient As(string tokenName) => Client(Token(tokenName));

    /// <summary>
    /// What a clinical system keeps sending after an attack: a physician's entry (an asthma condition) on the patient's
    /// record. The answer is the test's to judge (<see cref="HttpJson.AssertNoServerErrorAsync"/>).
    /// </summary>
    public Task<HttpResponseMessage> PostEntryAsync(Guid patient, string caller = "northside physician") =>
        As(caller).PostJsonAsync($"/patients/{patient}/entries", new
        {
            category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "J45", display = "Asthma" },
            text = "Uses inhaler when running.",
        });

    /// <summary>A token minted from this node's keyring, as `./run.sh token` does.</summary>
    public string Mint(string hospital, string subject, HealthEvents.Domain.Common.Role role, Guid? patientId = null, TimeSpan? lifetime = null, DateTimeOffset? now = null) =>
        HealthEvents.Infrastructure.Identity.Tokens.Mint(new HealthEvents.Infrastructure.Identity.HospitalKeyring(Path.Combine(_dataFolder, "keys")),
            hospital, subject, role, patientId, lifetime ?? TimeSpan.FromHours(1), now ?? DateTimeOffset.UtcNow);

    /// <summary>A new patient of <paramref name="home"/>, registered by its physician, and a client holding the patient's own token.</summary>
    public async Task<(Guid Id, HttpClient Patient)> NewPatientAsync(string name, string home = "northside")
    {
        var registered = await As($"{home} physician").PostJsonAsync("/patients", new { homeHospital = home, birthYear = 1975, sex = "female", name });
        if (registered.StatusCode != System.Net.HttpStatusCode.Created) throw new InvalidOperationException($"Registering a patient answered {registered.StatusCode}.");
        var id = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        return (id, Client(Mint(home, "patient-" + id.ToString("N")[..8], HealthEvents.Domain.Common.Role.Patient, id)));
    }

    public async Task<int> StreamLengthAsync(Guid patientId)
    {
        var store = Services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
        var count = 0;
        await foreach (var _ in store.ReadStreamAsync($"patient-{patientId}")) count++;
        return count;
    }

    /// <summary>What the service has stored that a refused request must not change.</summary>
    /// <param name="Events">Events of the whole global log except the ledger stream (the ledger signer appends tree heads on its own clock).</param>
    /// <param name="DataKeys">Rows of he_data_keys (a per-patient key is created on first encryption).</param>
    /// <param name="LiveDataKeys">Rows of he_data_keys whose key is not destroyed (forgetting destroys one).</param>
    public sealed record StoreCounts(long Events, long DataKeys, long LiveDataKeys);

    /// <summary>
    /// Counted in SQL, committed rows only: exact even while a ledger head or a projection is being written. On
    /// EventStoreDB the events are counted in the service's global log (appends there are atomic).
    /// </summary>
    public async Task<StoreCounts> CountsAsync()
    {
        long? events = null;
        if (OnEventStoreDb)
        {
            var store = Services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
            events = 0;
            HealthEvents.Application.Ports.GlobalPosition? after = null;
            while (await store.ReadAllAsync(after, 1000) is { Count: > 0 } batch)
            {
                events += batch.Count(e => e.StreamId != "ledger");
                after = batch[^1].Position;
            }
        }
        await using var conn = new Npgsql.NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        var eventsSql = OnEventStoreDb ? "0" : "(SELECT count(*) FROM he_events WHERE stream_id <> 'ledger')";
        await using var cmd = new Npgsql.NpgsqlCommand($"""
            SELECT {eventsSql},
                   (SELECT count(*) FROM he_data_keys),
                   (SELECT count(*) FROM he_data_keys WHERE wrapped_key IS NOT NULL)
            """, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new StoreCounts(events ?? reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_dataFolder, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IEnumerable<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

public static class HttpJson
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) =>
        client.PostAsJsonAsync(url, body, Json.Options);

    /// <summary>The service's promise for any input: a success, or a problem-details answer — never a 500.</summary>
    public static async Task AssertNoServerErrorAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType == "application/problem+json",
            $"{(int)response.StatusCode}: {body}");
        Assert.NotEqual(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
    }
}
