using HealthEvents.Projections.Runner;
using Npgsql;

namespace HealthEvents.Projections.Research;

/// <summary>
/// Fallback "events in the log" for progress (research projections building, <c>./run.sh rebuild</c>) when the event
/// store adapter registers no <see cref="IEventLogStatistics"/>: the row count of the PostgreSQL event store's table when
/// it lives in the read-model database (the single-machine default), else unknown. Cached for a second.
/// </summary>
public sealed class EventTableStatistics(string connectionString) : IEventLogStatistics
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private (DateTime At, long? Count)? _last;

    public async Task<long?> CountEventsAsync(CancellationToken ct = default)
    {
        if (_last is { } last && DateTime.UtcNow - last.At < CacheFor) return last.Count;
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        long? count = null;
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('he_events') IS NOT NULL", conn))
            if (await exists.ExecuteScalarAsync(ct) is true)
            {
                await using var cmd = new NpgsqlCommand("SELECT count(*) FROM he_events", conn);
                count = (long)(await cmd.ExecuteScalarAsync(ct))!;
            }
        _last = (DateTime.UtcNow, count);
        return count;
    }
}
