using Npgsql;

namespace HealthEvents.Infrastructure.Postgres;

public sealed partial class PostgresEventStore
{
    internal const string Table = "he_events";

    /// <summary>Serialises concurrent EnsureSchemaAsync calls (CREATE ... IF NOT EXISTS alone can race on the catalog).</summary>
    private const long SchemaLockKey = 0x4845_4556_5453_0001; // "HEEVTS" + 1

    /// <summary>
    /// One row per event. <c>transaction_id</c> and <c>position</c> give the global order (commit, prepare);
    /// the primary key on (stream_id, version) is the optimistic-concurrency check; event ids are unique
    /// across the store. data/metadata are stored byte-exact (the hash covers those bytes).
    /// </summary>
    internal const string SchemaSql = """
        CREATE TABLE IF NOT EXISTS he_events (
            transaction_id xid8   NOT NULL DEFAULT pg_current_xact_id(),
            position       bigint GENERATED ALWAYS AS IDENTITY,
            event_id       uuid   NOT NULL,
            stream_id      text   NOT NULL,
            version        bigint NOT NULL,
            type           text   NOT NULL,
            data           bytea  NOT NULL,
            metadata       bytea  NOT NULL,
            prev_hash      bytea  NOT NULL,
            hash           bytea  NOT NULL,
            endorsement    bytea  NULL,
            CONSTRAINT he_events_pk PRIMARY KEY (stream_id, version),
            CONSTRAINT he_events_event_id_uq UNIQUE (event_id),
            CONSTRAINT he_events_version_ck CHECK (version >= 0),
            CONSTRAINT he_events_hash_ck CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32)
        );
        CREATE INDEX IF NOT EXISTS he_events_global_ix ON he_events (transaction_id, position);
        """;

    /// <summary>Creates the events table and its indexes if they do not exist. Safe to call concurrently and repeatedly.</summary>
    public async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", conn, tx))
        {
            lockCmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SchemaLockKey });
            await lockCmd.ExecuteNonQueryAsync(ct);
        }
        await using (var cmd = new NpgsqlCommand(SchemaSql, conn, tx))
            await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
    }
}
