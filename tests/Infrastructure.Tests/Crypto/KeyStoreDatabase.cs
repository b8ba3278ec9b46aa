using HealthEvents.Infrastructure.Crypto;
using HealthEvents.TestSupport;
using Npgsql;

namespace HealthEvents.Infrastructure.Tests.Crypto;

/// <summary>One fresh database per test class; tests keep apart by using new patient ids.</summary>
public sealed class KeyStoreDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public KeyEncryptionKey Kek { get; } = KeyEncryptionKey.FromBase64(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(AesGcmSealer.KeySize)));

    /// <summary>A key store as another node would have it: its own cache, the shared table.</summary>
    public PostgresKeyStore NewStore(KeyEncryptionKey? kek = null, TimeSpan? cacheLifetime = null) =>
        new(DataSource, kek ?? Kek, cacheLifetime);

    public async Task<T> ScalarAsync<T>(string sql, Guid patientId)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        cmd.Parameters.AddWithValue("id", patientId);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task InitializeAsync()
    {
        DataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await NewStore().EnsureSchemaAsync();
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
