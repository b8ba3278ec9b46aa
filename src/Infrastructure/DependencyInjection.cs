using HealthEvents.Application.Ports;
using HealthEvents.Application.Network;
using HealthEvents.Infrastructure.Crypto;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Infrastructure;

public static class DependencyInjection
{
    /// <summary>Configuration key choosing the event store: <c>PostgreSQL</c> (default) or <c>EventStoreDB</c>.</summary>
    public const string EventStoreProviderKey = "EventStore:Provider";
    public const string PostgreSqlProvider = "PostgreSQL";
    public const string EventStoreDbProvider = "EventStoreDB";
    /// <summary>Connection string name of EventStoreDB (<c>ConnectionStrings:EventStoreDB</c>, e.g. esdb://host:2113?tls=false).</summary>
    public const string EventStoreDbConnectionName = "EventStoreDB";

    /// <summary>
    /// PostgreSQL event store: concurrent appends of many streams share one transaction (group commit; <c>true</c>, the
    /// default). <c>false</c> commits each append on its own — a baseline for measuring, not a setting to run with.
    /// </summary>
    public const string GroupCommitKey = "EventStore:GroupCommit";

    /// <summary>Optional: this service's streams on a shared EventStoreDB server (<see cref="EventStoreDbStoreOptions.StreamPrefix"/>).</summary>
    public const string EventStoreDbStreamPrefixKey = "EventStore:StreamPrefix";

    /// <summary>
    /// The event store chosen by <c>EventStore:Provider</c> (PostgreSQL, the default, or EventStoreDB with
    /// <c>ConnectionStrings:EventStoreDB</c>), the key store and cipher, the hospital keyring and genesis.
    /// PostgreSQL (<paramref name="connectionString"/>) holds the keys and read models whichever store holds the events.
    /// </summary>
    public static IServiceCollection AddHealthEventsInfrastructure(
        this IServiceCollection services, IConfiguration configuration, string connectionString, string dataFolder)
    {
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        var groupCommit = configuration.GetValue(GroupCommitKey, defaultValue: true);
        services.AddSingleton<PostgresEventStore>(sp => new PostgresEventStore(sp.GetRequiredService<NpgsqlDataSource>(), groupCommit: groupCommit));
        var eventStoreDb = UsesEventStoreDb(configuration);
        services.AddSingleton(new EventStoreSelection(eventStoreDb));
        if (eventStoreDb)
        {
            var esdb = configuration.GetConnectionString(EventStoreDbConnectionName) is { Length: > 0 } cs
                ? EventStoreDbSettings.Parse(cs)
                : throw new InvalidOperationException(
                    $"{EventStoreProviderKey} is {EventStoreDbProvider} but ConnectionStrings:{EventStoreDbConnectionName} is not set " +
                    "(e.g. ConnectionStrings__EventStoreDB=esdb://localhost:2113?tls=false).");
            var options = new EventStoreDbStoreOptions { StreamPrefix = configuration[EventStoreDbStreamPrefixKey] ?? "" };
            services.AddSingleton(_ => new EventStoreDbEventStore(esdb, options));
            services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<EventStoreDbEventStore>());
        }
        else
        {
            services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<PostgresEventStore>());
        }
        services.AddSingleton(_ => KeyEncryptionKey.FromConfiguration(configuration, KeyEncryptionKey.DefaultPath(dataFolder)));
        services.AddSingleton(sp => new PostgresKeyStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<KeyEncryptionKey>()));
        services.AddSingleton<IDataKeyStore>(sp => sp.GetRequiredService<PostgresKeyStore>());
        services.AddSingleton<IPatientCipher, PatientCipher>();
        services.AddSingleton(_ => new HospitalKeyring(Path.Combine(dataFolder, "keys")));
        services.AddSingleton<IHospitalKeyStore, KeyringKeyStore>();
        services.AddSingleton(sp => new PostgresIdempotencyStore(
            sp.GetRequiredService<NpgsqlDataSource>(), PostgresIdempotencyStore.Relaxed(connectionString), claimsPrecedeAppends: !eventStoreDb));
        services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<PostgresIdempotencyStore>());
        services.AddSingleton(_ => GenesisPin(configuration, dataFolder));
        services.AddSingleton<NetworkDirectory>();
        services.AddSingleton<NetworkStream>();
        services.AddSingleton<NetworkGenesis>();
        return services;
    }

    /// <summary>Configuration key of the network's founding a node expects (<c>{events}:{hash}</c>, <see cref="FoundingPin"/>; <see cref="NetworkGenesisPin"/>).</summary>
    public const string GenesisHashKey = "HealthEvents:GenesisHash";

    /// <summary>The founding this node trusts: <see cref="GenesisHashKey"/> when set, else the pin in its data folder.</summary>
    private static NetworkGenesisPin GenesisPin(IConfiguration configuration, string dataFolder)
    {
        FoundingPin? configured = null;
        if (configuration[GenesisHashKey] is { Length: > 0 } text)
            configured = FoundingPin.Parse(text)
                ?? throw new InvalidOperationException($"{GenesisHashKey} is the network's founding as {{events}}:{{hash}}: its event count, a colon and the SHA-256 hash of its last event in hex (64 digits).");
        return new NetworkGenesisPin(new GenesisPinFile(Path.Combine(dataFolder, GenesisPinFile.FileName)), configured);
    }

    /// <summary>Creates what the stores need (idempotent) and loads the network membership.</summary>
    public static async Task InitializeHealthEventsStorageAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        // he_events only when PostgreSQL holds the events; on EventStoreDB there is nothing to create.
        if (!services.GetRequiredService<EventStoreSelection>().EventStoreDb)
            await services.GetRequiredService<PostgresEventStore>().EnsureSchemaAsync(ct);
        await services.GetRequiredService<PostgresKeyStore>().EnsureSchemaAsync(ct);
        await services.GetRequiredService<PostgresIdempotencyStore>().EnsureSchemaAsync(ct);
        await services.GetRequiredService<NetworkDirectory>().RefreshAsync(ct);
    }

    /// <summary>Whether <c>EventStore:Provider</c> selects EventStoreDB (case-insensitive); anything else but PostgreSQL is an error.</summary>
    public static bool UsesEventStoreDb(IConfiguration configuration)
    {
        var provider = configuration[EventStoreProviderKey];
        if (string.IsNullOrWhiteSpace(provider) || provider.Equals(PostgreSqlProvider, StringComparison.OrdinalIgnoreCase)) return false;
        if (provider.Equals(EventStoreDbProvider, StringComparison.OrdinalIgnoreCase)) return true;
        throw new InvalidOperationException($"{EventStoreProviderKey} is '{provider}': it is {PostgreSqlProvider} (the default) or {EventStoreDbProvider}.");
    }
}

/// <summary>Which store holds the events, as configured (the registered <see cref="IEventStore"/> may be decorated).</summary>
internal sealed record EventStoreSelection(bool EventStoreDb);
