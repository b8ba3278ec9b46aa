using HealthEvents.Application.Ports;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Projections.Runner;

/// <summary>Log lines of the read side. Exception TYPES only: a message may carry personal data.</summary>
internal static partial class RunnerLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Error,
        Message = "Projection {Projection} failed at position {Position} with {ExceptionType}; retrying in {Backoff}")]
    public static partial void ApplyFailed(ILogger logger, string projection, GlobalPosition position, string exceptionType, TimeSpan backoff);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error,
        Message = "Projection {Projection} failed after position {Position} with {ExceptionType}; retrying in {Backoff}")]
    public static partial void RunFailed(ILogger logger, string projection, string position, string exceptionType, TimeSpan backoff);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Projection {Projection} now runs on this node from position {Position}")]
    public static partial void Leading(ILogger logger, string projection, string position);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Projection {Projection} stepped down on this node ({Reason})")]
    public static partial void SteppedDown(ILogger logger, string projection, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information,
        Message = "Rebuild of projection {Projection}: {Done} of {Total} events, {Rate:F0} events/s")]
    public static partial void RebuildProgress(ILogger logger, string projection, long done, long? total, double rate);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Projection lock handling for {Projection} failed with {ExceptionType}; retrying")]
    public static partial void LockFailed(ILogger logger, string projection, string exceptionType);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "Projection source {Source} failed with {ExceptionType}; retrying at the next poll")]
    public static partial void SourceFailed(ILogger logger, string source, string exceptionType);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning,
        Message = "Projection {Projection} skipped the unreadable event {StreamId}@{Version} at position {Position}; run verify on that stream")]
    public static partial void Unreadable(ILogger logger, string projection, string streamId, long version, GlobalPosition position);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Error,
        Message = "Projection {Projection} parked the event {StreamId}@{Version} at position {Position}: it failed on it alone, twice, with {ExceptionType} ({Reason}); the view goes on without it until a rebuild")]
    public static partial void Parked(ILogger logger, string projection, string streamId, long version, GlobalPosition position, string exceptionType, string reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Critical,
        Message = "Projection {Projection} keeps failing at position {Position} with {ExceptionType} and never skips an event: it stays stalled until the cause is fixed")]
    public static partial void CannotPark(ILogger logger, string projection, GlobalPosition position, string exceptionType);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning,
        Message = "Projection {Projection} failed at or after position {Position} with {ExceptionType}, not the database's; applying its {Count} events in parts to find the one it fails on")]
    public static partial void Narrowing(ILogger logger, string projection, GlobalPosition position, string exceptionType, int count);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Critical,
        Message = "Projection {Projection} failed at position {Position} with {ExceptionType} after parking the {Count} events before it in a row: the projection's failure, not an event's; it parks no more and stays stalled until the cause is fixed")]
    public static partial void ParkedTooMany(ILogger logger, string projection, GlobalPosition position, string exceptionType, int count);

    public static string TypeOf(Exception e) =>
        e is ProjectionApplyException { InnerException: { } inner } ? inner.GetType().FullName ?? inner.GetType().Name : e.GetType().FullName ?? e.GetType().Name;
}
