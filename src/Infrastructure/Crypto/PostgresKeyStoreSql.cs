namespace HealthEvents.Infrastructure.Crypto;

/// <summary>The SQL of <see cref="PostgresKeyStore"/>.</summary>
internal static class PostgresKeyStoreSql
{
    // The CHECK makes "destroyed but key still present" (or the reverse) impossible to store.
    public const string Schema = """
        SELECT pg_advisory_xact_lock(hashtext('he_data_keys'));
        CREATE TABLE IF NOT EXISTS he_data_keys (
            patient_id   uuid        PRIMARY KEY,
            wrapped_key  bytea       NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            destroyed_at timestamptz NULL,
            CONSTRAINT he_data_keys_destroyed_has_no_key CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
        )
        """;

    public const string Select = "SELECT wrapped_key FROM he_data_keys WHERE patient_id = @id";

    public const string InsertIfAbsent = """
        INSERT INTO he_data_keys (patient_id, wrapped_key, created_at) VALUES (@id, @wrapped, now())
        ON CONFLICT (patient_id) DO NOTHING
        """;

    // Forgetting a patient who never had a key still leaves a tombstone, so no key is created later.
    public const string Destroy = """
        INSERT INTO he_data_keys (patient_id, wrapped_key, created_at, destroyed_at) VALUES (@id, NULL, now(), now())
        ON CONFLICT (patient_id) DO UPDATE
            SET wrapped_key = NULL, destroyed_at = COALESCE(he_data_keys.destroyed_at, EXCLUDED.destroyed_at)
        """;
}
