using HealthEvents.Application.Ports;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Idempotency keys in <c>he_idempotency</c> (PostgreSQL, beside the data keys): a claim inserts a pending row with a
/// random nonce, or finds the one there; the finished response completes it. A failed attempt marks its row released
/// instead of removing it, and a retry takes a released or lapsed row over with its nonce, as a later attempt of the
/// same command. Rows older than a day are removed when keys are claimed.
/// <para>
/// Durability (issue 13: one WAL flush per accepted command). Completions and releases commit without waiting for the
/// WAL flush (<c>synchronous_commit = off</c>, PostgreSQL 15 docs §30.4): the command's events are durable before either
/// runs, and losing one in a crash leaves the claim pending, so a retry after <see cref="PendingLease"/> takes it over as
/// a later attempt of the same command and is told 409 <c>command-already-applied</c> instead of the stored answer —
/// never a second recording. A claim must be durable before the command's events are (its nonce names the command):
/// with <paramref name="claimsPrecedeAppends"/> (the events are appended to this same PostgreSQL) it commits
/// asynchronously too, because WAL is flushed in order and the append's own synchronous commit, which comes after the
/// claim's, flushes the claim with it; with EventStoreDB holding the events it waits for its flush.
/// </para>
/// </summary>
/// <param name="dataSource">The service's PostgreSQL (synchronous commits).</param>
/// <param name="relaxed">The same database, its sessions with <c>synchronous_commit = off</c> (<see cref="Relaxed"/>); owned and disposed here.</param>
/// <param name="claimsPrecedeAppends">Whether the command's events are appended to this same PostgreSQL after the claim.</param>
public sealed class PostgresIdempotencyStore(NpgsqlDataSource dataSource, NpgsqlDataSource relaxed, bool claimsPrecedeAppends)
    : IIdempotencyStore, IAsyncDisposable
{
    /// <summary>A data source over <paramref name="connectionString"/> whose sessions commit without waiting for the WAL flush.</summary>
    public static NpgsqlDataSource Relaxed(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.Options = $"{builder.ConnectionStringBuilder.Options} -c synchronous_commit=off".Trim();
        return builder.Build();
    }

    public ValueTask DisposeAsync() => relaxed.DisposeAsync();

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
        await using var cmd = (claimsPrecedeAppends ? relaxed : dataSource).CreateCommand("""
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
        await using var cmd = relaxed.CreateCommand("""
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
        await using var cmd = relaxed.CreateCommand("UPDATE he_idempotency SET released = true WHERE caller = @caller AND key = @key AND status IS NULL");
        cmd.Parameters.Add(new NpgsqlParameter<string>("caller", NpgsqlDbType.Text) { TypedValue = caller });
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("key", NpgsqlDbType.Uuid) { TypedValue = key });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
