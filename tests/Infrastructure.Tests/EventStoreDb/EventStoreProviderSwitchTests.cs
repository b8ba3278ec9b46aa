using HealthEvents.Application;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>EventStore:Provider chooses the event store; PostgreSQL stays for keys and read models. No EventStoreDB server needed.</summary>
public sealed class EventStoreProviderSwitchTests : IDisposable
{
    private readonly string _dataFolder = Path.Combine(Path.GetTempPath(), "he-switch-" + Guid.NewGuid().ToString("N")[..12]);

    private ServiceProvider Build(string postgres, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(configuration, postgres, _dataFolder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task EventStoreDB_provider_resolves_the_EventStoreDB_adapter()
    {
        await using var sp = Build("Host=127.0.0.1;Database=unused",
            ("EventStore:Provider", "EventStoreDB"), ("ConnectionStrings:EventStoreDB", "esdb://127.0.0.1:2113?tls=false"));

        var store = Assert.IsType<EventStoreDbEventStore>(sp.GetRequiredService<IEventStore>());
        Assert.Equal(new Uri("http://127.0.0.1:2113"), store.CurrentNode);
        Assert.Same(store, sp.GetRequiredService<IEventStore>());
    }

    [Fact]
    public async Task PostgreSQL_is_the_default_and_can_be_named()
    {
        await using var byDefault = Build("Host=127.0.0.1;Database=unused");
        Assert.IsType<PostgresEventStore>(byDefault.GetRequiredService<IEventStore>());

        await using var named = Build("Host=127.0.0.1;Database=unused", ("EventStore:Provider", "postgresql"));
        Assert.IsType<PostgresEventStore>(named.GetRequiredService<IEventStore>());
    }

    [Fact]
    public void A_missing_connection_string_or_an_unknown_provider_fails_at_start()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => Build("Host=x", ("EventStore:Provider", "EventStoreDB")));
        Assert.Contains("ConnectionStrings:EventStoreDB", missing.Message);
        Assert.Throws<InvalidOperationException>(() => Build("Host=x", ("EventStore:Provider", "Cassandra")));
        Assert.Throws<FormatException>(() => Build("Host=x", ("EventStore:Provider", "EventStoreDB"), ("ConnectionStrings:EventStoreDB", "http://x:2113")));
    }

    [Fact]
    public async Task Initialization_on_EventStoreDB_creates_no_events_table_in_PostgreSQL()
    {
        var postgres = await TestPostgres.CreateDatabaseAsync();
        // Nothing listens on port 1: the network membership cannot be loaded, which is the point where initialization stops.
        await using var sp = Build(postgres,
            ("EventStore:Provider", "EventStoreDB"), ("ConnectionStrings:EventStoreDB", "esdb://127.0.0.1:1?tls=false"));

        var unreachable = await Assert.ThrowsAsync<EventStoreDbUnavailableException>(() => sp.InitializeHealthEventsStorageAsync());
        Assert.Contains("network", unreachable.Message);

        await using var conn = new NpgsqlConnection(postgres);
        await conn.OpenAsync();
        await using var tables = new NpgsqlCommand("SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'", conn);
        var names = await tables.ExecuteScalarAsync() as string[] ?? [];
        Assert.Contains("he_data_keys", names);
        Assert.DoesNotContain("he_events", names);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataFolder, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
