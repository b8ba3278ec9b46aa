namespace HealthEvents.Projections.Runner;

/// <summary>
/// Optional: how many events the global log holds, for a rebuild's "done of total". Registered by default as
/// <see cref="Research.EventTableStatistics"/> (the PostgreSQL event table's row count when it shares the read-model
/// database); on EventStoreDB nothing counts the log cheaply, so the total is unknown and progress shows events done.
/// </summary>
public interface IEventLogStatistics
{
    Task<long?> CountEventsAsync(CancellationToken ct = default);
}
