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

    public static string TypeOf(Exception e) =>
        e is ProjectionApplyException { InnerException: { } inner } ? inner.GetType().FullName ?? inner.GetType().Name : e.GetType().FullName ?? e.GetType().Name;
}
