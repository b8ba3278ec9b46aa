using System.Security.Cryptography;
using HealthEvents.Application.Ports;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// Per-patient data keys in <c>he_data_keys</c>, each random 32 bytes wrapped with AES-256-GCM under the
/// key-encryption key and bound to its patient id (a wrapped key copied to another row does not unwrap).
/// Destroying sets <c>wrapped_key</c> to NULL and stamps <c>destroyed_at</c>; the row stays as a tombstone
/// so the key is never created again.
/// </summary>
public sealed class PostgresKeyStore : IDataKeyStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly KeyEncryptionKey _kek;
    private readonly DataKeyCache _cache;

    /// <param name="cacheLifetime">How long an unwrapped key is reused in memory (default 1 minute; zero: never cached).</param>
    public PostgresKeyStore(NpgsqlDataSource dataSource, KeyEncryptionKey kek, TimeSpan? cacheLifetime = null, TimeProvider? time = null)
    {
        _dataSource = dataSource;
        _kek = kek;
        _cache = new DataKeyCache(time ?? TimeProvider.System, cacheLifetime ?? TimeSpan.FromMinutes(1), capacity: 10_000);
    }

    /// <summary>Creates the table when absent. Serialised by an advisory lock: concurrent CREATE TABLE IF NOT EXISTS can still collide.</summary>
    public async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand(PostgresKeyStoreSql.Schema, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    public async Task<DataKeyLookup> FindAsync(Guid patientId, CancellationToken ct = default)
    {
        if (_cache.Get(patientId) is { } cached) return DataKeyLookup.Active(cached);
        var epoch = _cache.Epoch;
        await using var cmd = _dataSource.CreateCommand(PostgresKeyStoreSql.Select);
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("id", NpgsqlDbType.Uuid) { TypedValue = patientId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return DataKeyLookup.Missing;
        return ToLookup(patientId, reader, epoch);
    }

    public async Task<byte[]> GetOrCreateAsync(Guid patientId, CancellationToken ct = default)
    {
        var found = await FindAsync(patientId, ct);
        if (found.Status == DataKeyStatus.Active) return found.Key!;
        if (found.Status == DataKeyStatus.Destroyed) throw new PatientForgottenException();

        // Race-safe: whoever inserts first wins, everyone reads the winner's key back.
        var epoch = _cache.Epoch;
        var key = RandomNumberGenerator.GetBytes(AesGcmSealer.KeySize);
        var wrapped = AesGcmSealer.Seal(_kek.Bytes, key, AssociatedData.ForDataKey(patientId));
        CryptographicOperations.ZeroMemory(key);
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(Command(PostgresKeyStoreSql.InsertIfAbsent, patientId, wrapped));
        batch.BatchCommands.Add(Command(PostgresKeyStoreSql.Select, patientId));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) throw new InvalidOperationException("The data key row vanished after it was inserted.");
        var lookup = ToLookup(patientId, reader, epoch);
        return lookup.Status == DataKeyStatus.Active ? lookup.Key! : throw new PatientForgottenException();
    }

    public async Task DestroyAsync(Guid patientId, CancellationToken ct = default)
    {
        await using var cmd = _dataSource.CreateCommand(PostgresKeyStoreSql.Destroy);
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("id", NpgsqlDbType.Uuid) { TypedValue = patientId });
        await cmd.ExecuteNonQueryAsync(ct);
        // Only after the commit: a lookup racing with this either sees the tombstone or is refused by the cache epoch.
        _cache.Evict(patientId);
    }

    private DataKeyLookup ToLookup(Guid patientId, NpgsqlDataReader reader, long epoch)
    {
        if (reader.IsDBNull(0)) return DataKeyLookup.Destroyed;
        var wrapped = reader.GetFieldValue<byte[]>(0);
        byte[] key;
        try
        {
            key = AesGcmSealer.Open(_kek.Bytes, wrapped, AssociatedData.ForDataKey(patientId));
        }
        catch (CryptographicException e)
        {
            throw new CryptographicException(
                "A data key could not be unwrapped: the key-encryption key is not the one it was wrapped with, or the key row was altered.", e);
        }
        _cache.Set(patientId, key, epoch);
        return DataKeyLookup.Active(key);
    }

    private static NpgsqlBatchCommand Command(string sql, Guid patientId, byte[]? wrapped = null)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid>("id", NpgsqlDbType.Uuid) { TypedValue = patientId });
        if (wrapped is not null) command.Parameters.Add(new NpgsqlParameter<byte[]>("wrapped", NpgsqlDbType.Bytea) { TypedValue = wrapped });
        return command;
    }
}
