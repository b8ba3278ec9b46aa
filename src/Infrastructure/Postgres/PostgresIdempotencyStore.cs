using HealthEvents.Application.Ports;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Idempotency keys in <c>he_idempotency</c> (PostgreSQL, beside the data keys): a claim inserts a pending row with a
/// random nonce, or finds the one there; the finished response completes it. A failed attempt marks its row released
/// instead of removing it, and a retry takes a released or lapsed row over with its nonce, as a later attempt of the
/// same command. Rows older than a day are removed when keys are claimed.
/// </summary>
public sealed class PostgresIdempotencyStore(NpgsqlDataSource dataSource) : IIdempotencyStore
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a claim without an answer holds its key: a node that crashed mid-request never answers, and its client's
    /// retry must not be told "in progress" for a day. Past this the key can be claimed again, as a later attempt of the
    /// same command (same nonce, same command id), so a command that did land is not recorded twice.
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
            );
            ALTER TABLE he_idempotency
                ADD COLUMN IF NOT EXISTS nonce      uuid        NOT NULL DEFAULT gen_random_uuid(),
                ADD COLUMN IF NOT EXISTS claimed_at timestamptz NOT NULL DEFAULT now(),
                ADD COLUMN IF NOT EXISTS released   boolean     NOT NULL DEFAULT false;
            -- Every claim first removes records past the retention: without this index that is a scan of a day of keys.
            CREATE INDEX IF NOT EXISTS he_idempotency_created_at ON he_idempotency (created_at);
            """, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }

    public async Task<IdempotencyClaim> ClaimAsync(string caller, Guid key, byte[] fingerprint, CancellationToken ct)
    {
        // Both data-changing parts see the table as it was before the statement: a fresh insert leaves nothing to take
        // over. Two retries racing for one released row: the second's update re-checks the row the first changed, and
        // finds it held.
        await using var cmd = dataSource.CreateCommand("""
            DELETE FROM he_idempotency WHERE created_at < now() - @retention;
            WITH fresh AS (INSERT INTO he_idempotency (caller, key, fingerprint) VALUES (@caller, @key, @fingerprint)
                           ON CONFLICT (caller, key) DO NOTHING RETURNING nonce),
                 taken AS (UPDATE he_idempotency SET claimed_at = now(), released = false
                           WHERE caller = @caller AND key = @key AND fingerprint = @fingerprint AND status IS NULL
                             AND (released OR claimed_at < now() - @lease)
                           RETURNING nonce)
            SELECT (SELECT nonce FROM fresh), (SELECT nonce FROM taken), fingerprint, status, content_type, body
            FROM (SELECT 1) one LEFT JOIN he_idempotency ON caller = @caller AND key = @key
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("fingerprint", NpgsqlDbType.Bytea) { TypedValue = fingerprint });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan>("retention", NpgsqlDbType.Interval) { TypedValue = Retention });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", NpgsqlDbType.Interval) { TypedValue = PendingLease });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        // The statement sees the table as it was before its own insert: a fresh claim shows as its nonce and no row.
        if (!reader.IsDBNull(0)) return new IdempotencyClaim.Claimed(reader.GetGuid(0), EarlierAttempt: false);
        if (!reader.IsDBNull(1)) return new IdempotencyClaim.Claimed(reader.GetGuid(1), EarlierAttempt: true);
        if (reader.IsDBNull(2)) return new IdempotencyClaim.InProgress(); // removed (expired) by another request meanwhile
        if (!reader.GetFieldValue<byte[]>(2).AsSpan().SequenceEqual(fingerprint)) return new IdempotencyClaim.Mismatch();
        if (reader.IsDBNull(3)) return new IdempotencyClaim.InProgress();
        return new IdempotencyClaim.Replay(reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<byte[]>(5));
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
        await using var cmd = dataSource.CreateCommand("UPDATE he_idempotency SET released = true WHERE caller = @caller AND key = @key AND status IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
