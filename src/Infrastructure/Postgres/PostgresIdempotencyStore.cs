using HealthEvents.Application.Ports;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Idempotency keys in <c>he_idempotency</c> (PostgreSQL, beside the data keys): a claim inserts a pending row, or finds
/// the one there; the finished response replaces it. Rows older than a day are removed when keys are claimed.
/// </summary>
public sealed class PostgresIdempotencyStore(NpgsqlDataSource dataSource) : IIdempotencyStore
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a claim without an answer holds its key: a node that crashed mid-request never answers, and its client's
    /// retry must not be told "in progress" for a day. Past this the key can be claimed again (the command id is the
    /// same, so a command that did land is not recorded twice).
    /// </summary>
    public static readonly TimeSpan PendingLease = TimeSpan.FromSeconds(30);

    public async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand("""
            SELECT pg_advisory_xact_lock(hashtext('he_idempotency'));
            CREATE TABLE IF NOT EXISTS he_idempotency (
                caller       text        NOT NULL,
                key          uuid        NOT NULL,
                fingerprint  bytea       NOT NULL,
                status       int         NULL,
                content_type text        NULL,
                body         bytea       NULL,
                created_at   timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (caller, key)
            )
            """, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    public async Task<IdempotencyClaim> ClaimAsync(string caller, Guid key, byte[] fingerprint, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            DELETE FROM he_idempotency WHERE created_at < now() - @retention OR (status IS NULL AND created_at < now() - @lease);
            WITH claimed AS (INSERT INTO he_idempotency (caller, key, fingerprint) VALUES (@caller, @key, @fingerprint)
                             ON CONFLICT (caller, key) DO NOTHING RETURNING true AS claimed)
            SELECT (SELECT claimed FROM claimed), fingerprint, status, content_type, body
            FROM (SELECT 1) one LEFT JOIN he_idempotency ON caller = @caller AND key = @key
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("fingerprint", NpgsqlDbType.Bytea) { TypedValue = fingerprint });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan>("retention", NpgsqlDbType.Interval) { TypedValue = Retention });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", NpgsqlDbType.Interval) { TypedValue = PendingLease });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        // The statement sees the table as it was before its own insert: a fresh claim shows as "claimed" and no row.
        if (!reader.IsDBNull(0)) return new IdempotencyClaim.Claimed();
        if (reader.IsDBNull(1)) return new IdempotencyClaim.InProgress(); // claimed and released by another request meanwhile
        if (!reader.GetFieldValue<byte[]>(1).AsSpan().SequenceEqual(fingerprint)) return new IdempotencyClaim.Mismatch();
        if (reader.IsDBNull(2)) return new IdempotencyClaim.InProgress();
        return new IdempotencyClaim.Replay(reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<byte[]>(4));
    }

    public async Task CompleteAsync(string caller, Guid key, byte[] fingerprint, int status, string? contentType, byte[] body, CancellationToken ct)
    {
        // An upsert: a first request slower than the lease has lost its row (a retry claimed it, then failed and
        // released it), yet its answer is the one exact retries must get. Never over another request's row.
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO he_idempotency (caller, key, fingerprint, status, content_type, body)
            VALUES (@caller, @key, @fingerprint, @status, @contentType, @body)
            ON CONFLICT (caller, key) DO UPDATE SET status = EXCLUDED.status, content_type = EXCLUDED.content_type, body = EXCLUDED.body
            WHERE he_idempotency.fingerprint = EXCLUDED.fingerprint AND he_idempotency.status IS NULL
            """);
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("fingerprint", NpgsqlDbType.Bytea) { TypedValue = fingerprint });
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        cmd.Parameters.Add(new NpgsqlParameter<int>("status", NpgsqlDbType.Integer) { TypedValue = status });
        cmd.Parameters.Add(new NpgsqlParameter("contentType", NpgsqlDbType.Text) { Value = (object?)contentType ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("body", NpgsqlDbType.Bytea) { TypedValue = body });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task ReleaseAsync(string caller, Guid key, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("DELETE FROM he_idempotency WHERE caller = @caller AND key = @key AND status IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
