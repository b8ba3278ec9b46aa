using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>A fresh database of the test PostgreSQL with the event store's table: where a test writes a ledger and then plays the attacker in SQL.</summary>
internal sealed class StoreDatabase : IAsyncDisposable
{
    private StoreDatabase(NpgsqlDataSource dataSource) => (DataSource, Store) = (dataSource, new PostgresEventStore(dataSource));

    public NpgsqlDataSource DataSource { get; }

    public PostgresEventStore Store { get; }

    public static async Task<StoreDatabase> CreateAsync()
    {
        var database = new StoreDatabase(NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync()));
        await database.Store.EnsureSchemaAsync();
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}
