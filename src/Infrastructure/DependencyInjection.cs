using HealthEvents.Application.EventStore;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Crypto;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Infrastructure;

public static class DependencyInjection
{
    /// <summary>The PostgreSQL event store, the key store and cipher, the hospital keyring and genesis.</summary>
    public static IServiceCollection AddHealthEventsInfrastructure(
        this IServiceCollection services, IConfiguration configuration, string connectionString, string dataFolder)
    {
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        services.AddSingleton<PostgresEventStore>(sp => new PostgresEventStore(sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<PostgresEventStore>());
        services.AddSingleton(_ => KeyEncryptionKey.FromConfiguration(configuration, Path.Combine(dataFolder, "keys", "kek.key")));
        services.AddSingleton(sp => new PostgresKeyStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<KeyEncryptionKey>()));
        services.AddSingleton<IDataKeyStore>(sp => sp.GetRequiredService<PostgresKeyStore>());
        services.AddSingleton<IPatientCipher, PatientCipher>();
        services.AddSingleton(_ => new HospitalKeyring(Path.Combine(dataFolder, "keys")));
        services.AddSingleton<NetworkDirectory>();
        services.AddSingleton<NetworkCommands>();
        services.AddSingleton<NetworkGenesis>();
        return services;
    }

    /// <summary>Creates what the stores need (idempotent) and loads the network membership.</summary>
    public static async Task InitializeHealthEventsStorageAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await services.GetRequiredService<PostgresEventStore>().EnsureSchemaAsync(ct);
        await services.GetRequiredService<PostgresKeyStore>().EnsureSchemaAsync(ct);
        await services.GetRequiredService<NetworkDirectory>().RefreshAsync(ct);
    }
}
