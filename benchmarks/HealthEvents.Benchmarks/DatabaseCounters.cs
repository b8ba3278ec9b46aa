using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// What the whole PostgreSQL server did, from its cumulative statistics: transactions committed (pg_stat_database
/// <c>xact_commit</c>, every database: read-only ones count too), WAL records and WAL flushes (pg_stat_wal
/// <c>wal_records</c>, <c>wal_sync</c>: fsyncs by backends and the WAL writer alike). PostgreSQL 15 docs §28.2.
/// </summary>
public sealed record DatabaseCounters(long Transactions, long WalRecords, long WalFlushes, DateTime At)
{
    /// <summary>
    /// A backend reports its counts at most once a second while busy and within 10 s of going idle (PostgreSQL 15,
    /// PGSTAT_IDLE_INTERVAL): waiting this long after a window means the counters hold everything the window did.
    /// </summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(11);

    public static async Task<DatabaseCounters> ReadAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database), wal_records, wal_sync FROM pg_stat_wal");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), DateTime.UtcNow);
    }
}

/// <summary>Server work per unit (command, transaction) over a measured window, the idle background taken out.</summary>
public sealed record WorkPerUnit(double Transactions, double WalRecords, double WalFlushes)
{
    /// <param name="idle">Work per second of the quiet service, subtracted for the settling time after the window.</param>
    public static WorkPerUnit Of(DatabaseCounters before, DatabaseCounters after, double settleSeconds, IdleRates idle, long units) =>
        units == 0 ? new(double.NaN, double.NaN, double.NaN) : new(
            Math.Max(0, after.Transactions - before.Transactions - idle.Transactions * settleSeconds) / units,
            Math.Max(0, after.WalRecords - before.WalRecords - idle.WalRecords * settleSeconds) / units,
            Math.Max(0, after.WalFlushes - before.WalFlushes - idle.WalFlushes * settleSeconds) / units);
}

/// <summary>What the quiet service costs the server per second.</summary>
public sealed record IdleRates(double Transactions, double WalRecords, double WalFlushes)
{
    public static IdleRates Between(DatabaseCounters from, DatabaseCounters to)
    {
        var s = (to.At - from.At).TotalSeconds;
        return new((to.Transactions - from.Transactions) / s, (to.WalRecords - from.WalRecords) / s, (to.WalFlushes - from.WalFlushes) / s);
    }
}
