namespace HealthEvents.Projections.Runner;

/// <summary>
/// Optional: how many events the global log holds, for a rebuild's "done of total". The event store adapter
/// provides it (PostgreSQL: count of the events table; EventStoreDB: an estimate); without it the total is unknown.
/// </summary>
public interface IEventLogStatistics
{
    Task<long?> CountEventsAsync(CancellationToken ct = default);
}
