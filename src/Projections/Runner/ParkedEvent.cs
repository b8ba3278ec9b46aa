namespace HealthEvents.Projections.Runner;

/// <summary>
/// An event one projection could not apply, on its own and again, with an error that was not the database's (see
/// <see cref="ProjectionFailure"/>): the projection went on past it, so the view lacks what this event would have
/// changed. Stored (table <c>readmodels.mt_doc_parkedevent</c>) in the same transaction as the checkpoint that moved past
/// it; deleted when the projection is rebuilt, which applies the event again. Where the event is and why it failed —
/// never the event's data or the exception's message (either may carry personal health data).
/// </summary>
public sealed class ParkedEvent
{
    /// <summary><c>{projection}/{eventId}</c>.</summary>
    public string Id { get; set; } = "";

    public string Projection { get; set; } = "";

    public string StreamId { get; set; } = "";

    /// <summary>The event's version in its stream (0 for the first).</summary>
    public long StreamVersion { get; set; }

    public Guid EventId { get; set; }

    /// <summary>Its stored type name (<c>consent.granted.v1</c>).</summary>
    public string EventType { get; set; } = "";

    /// <summary>Its global position: commit and prepare as the event store gives them (equal on PostgreSQL).</summary>
    public ulong Commit { get; set; }

    public ulong Prepare { get; set; }

    /// <summary>Full name of the exception the projection threw (the last of its tries).</summary>
    public string ExceptionType { get; set; } = "";

    /// <summary>Where it came from, without its message: a SQLSTATE and constraint, or the method that threw.</summary>
    public string Reason { get; set; } = "";

    public DateTimeOffset ParkedAt { get; set; }

    public static string IdFor(string projection, Guid eventId) => $"{projection}/{eventId}";
}
