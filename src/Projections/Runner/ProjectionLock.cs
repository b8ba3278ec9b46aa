using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// A PostgreSQL session advisory lock that elects the one node running a projection. It lives on a dedicated,
/// unpooled connection: the lock is held exactly as long as that connection, so a node that dies loses it.
/// A rebuild asks for the lock with a blocking request; the holder sees that waiter (<see cref="HasWaitersAsync"/>)
/// and steps down, and PostgreSQL grants the lock to the waiter before any other node's try-lock.
/// </summary>
internal sealed class ProjectionLock : IAsyncDisposable
{
    /// <summary>First key of the two-int advisory lock space: "HEPR" (HealthEvents projections).</summary>
    private const int LockClass = 0x48455052;

    private readonly NpgsqlConnection _conn;
    private readonly int _key;
    private bool _released;

    private ProjectionLock(NpgsqlConnection conn, int key)
    {
        _conn = conn;
        _key = key;
    }

    /// <summary>Stable 31-bit key from the projection name (FNV-1a), non-negative so it reads the same as an oid in pg_locks.</summary>
    internal static int KeyOf(string projection)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(projection))
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return (int)(hash & 0x7FFF_FFFF);
    }

    /// <summary>The lock if it is free now, else null.</summary>
    public static async Task<ProjectionLock?> TryAcquireAsync(string lockConnectionString, string projection, CancellationToken ct)
    {
        var key = KeyOf(projection);
        var conn = new NpgsqlConnection(lockConnectionString);
        try
        {
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", conn);
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockClass });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key });
            if (await cmd.ExecuteScalarAsync(ct) is true) return new ProjectionLock(conn, key);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
        await conn.DisposeAsync();
        return null;
    }

    /// <summary>Waits for the lock (queued in PostgreSQL, so the current holder can see it is wanted).</summary>
    public static async Task<ProjectionLock> AcquireAsync(string lockConnectionString, string projection, CancellationToken ct)
    {
        var key = KeyOf(projection);
        var conn = new NpgsqlConnection(lockConnectionString);
        try
        {
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT pg_advisory_lock($1, $2)", conn) { CommandTimeout = 0 };
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockClass });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key });
            await cmd.ExecuteNonQueryAsync(ct);
            return new ProjectionLock(conn, key);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Whether another session is queued for this lock. Also proves the lock connection is alive: it throws when the
    /// connection is gone (and with it the lock).
    /// </summary>
    public async Task<bool> HasWaitersAsync(CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = $1 AND objid = $2 AND objsubid = 2)
            """, _conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (uint)LockClass, NpgsqlDbType = NpgsqlDbType.Oid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (uint)_key, NpgsqlDbType = NpgsqlDbType.Oid });
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_released) return;
        _released = true;
        try
        {
            if (_conn.FullState == System.Data.ConnectionState.Open)
            {
                await using var cmd = new NpgsqlCommand("SELECT pg_advisory_unlock($1, $2)", _conn);
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockClass });
                cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _key });
                await cmd.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // the connection is broken: closing it (below) releases the lock on the server anyway
        }
        await _conn.DisposeAsync(); // unpooled: closing ends the session, which releases every lock it held
    }
}
