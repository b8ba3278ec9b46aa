using System.Security.Cryptography;
using HealthEvents.Infrastructure.Crypto;

namespace HealthEvents.Infrastructure.Tests.Crypto;

public sealed class PostgresKeyStoreTests(KeyStoreDatabase db) : IClassFixture<KeyStoreDatabase>
{
    [Fact]
    public async Task The_stored_row_holds_only_a_wrapped_key_and_nothing_after_forgetting()
    {
        var patient = Guid.NewGuid();
        var store = db.NewStore();
        var key = await store.GetOrCreateAsync(patient);

        var wrapped = await db.ScalarAsync<byte[]>("SELECT wrapped_key FROM he_data_keys WHERE patient_id = @id", patient);
        Assert.Equal(AesGcmSealer.Overhead + AesGcmSealer.KeySize, wrapped.Length);
        Assert.False(wrapped.AsSpan().IndexOf(key.AsSpan(0, 8)) >= 0, "the data key appears in clear");

        await store.DestroyAsync(patient);

        Assert.True(await db.ScalarAsync<bool>(
            "SELECT wrapped_key IS NULL AND destroyed_at IS NOT NULL FROM he_data_keys WHERE patient_id = @id", patient));
        Assert.Equal(DataKeyStatus.Destroyed, (await store.FindAsync(patient)).Status);
    }

    [Fact]
    public async Task Concurrent_get_or_create_for_one_patient_yields_one_key()
    {
        var patient = Guid.NewGuid();

        // Separate stores (as separate nodes) without caches, all racing to create the first key.
        var keys = await Task.WhenAll(Enumerable.Range(0, 32)
            .Select(_ => Task.Run(() => db.NewStore(cacheLifetime: TimeSpan.Zero).GetOrCreateAsync(patient))));

        Assert.Single(keys.Select(Convert.ToHexString).Distinct());
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM he_data_keys WHERE patient_id = @id", patient));
    }

    [Fact]
    public async Task A_wrapped_key_moved_to_another_patient_does_not_unwrap()
    {
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var store = db.NewStore(cacheLifetime: TimeSpan.Zero);
        await store.GetOrCreateAsync(a);
        await store.GetOrCreateAsync(b);

        await using (var cmd = db.DataSource.CreateCommand(
            "UPDATE he_data_keys SET wrapped_key = (SELECT wrapped_key FROM he_data_keys WHERE patient_id = $1) WHERE patient_id = $2"))
        {
            cmd.Parameters.AddWithValue(a);
            cmd.Parameters.AddWithValue(b);
            await cmd.ExecuteNonQueryAsync();
        }

        await Assert.ThrowsAnyAsync<CryptographicException>(() => store.FindAsync(b));
    }

    [Fact]
    public async Task An_unknown_patient_has_no_key() =>
        Assert.Equal(DataKeyLookup.Missing, await db.NewStore().FindAsync(Guid.NewGuid()));

    [Fact]
    public async Task The_schema_can_be_ensured_again_and_concurrently()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => db.NewStore().EnsureSchemaAsync()));
        await db.NewStore().EnsureSchemaAsync();
    }

    [Fact]
    public async Task The_table_refuses_a_destroyed_row_that_still_holds_a_key()
    {
        var patient = Guid.NewGuid();
        await db.NewStore().GetOrCreateAsync(patient);

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            db.ScalarAsync<object>("UPDATE he_data_keys SET destroyed_at = now() WHERE patient_id = @id RETURNING 1", patient));
    }
}
