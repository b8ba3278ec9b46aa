using HealthEvents.Application.Ports;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// A projection as this node sees it. <see cref="Checkpoint"/>: the last applied global position (null: nothing yet).
/// <see cref="RunningHere"/>: this node holds the projection's lock. <see cref="CaughtUp"/>: this node applied everything
/// the log had when it last looked (false when another node runs it: read the checkpoint instead).
/// <see cref="LastErrorType"/>: exception type of the last failure, cleared by the next success (never a message).
/// </summary>
public sealed record ProjectionStatus(
    string Name,
    GlobalPosition? Checkpoint,
    bool RunningHere,
    bool CaughtUp,
    long EventsProcessed,
    string? LastErrorType,
    GlobalPosition? FailingPosition,
    int ConsecutiveFailures,
    DateTimeOffset? UpdatedAt)
{
    /// <summary>Failures in a row after which a projection counts as stalled: readiness says so and reads stop waiting for it.</summary>
    public const int StalledAfter = 3;

    public bool Stalled => ConsecutiveFailures >= StalledAfter;

    /// <summary>Events skipped since the last reset because this build cannot read them (see <see cref="ProjectionCheckpoint.UnreadableEvents"/>).</summary>
    public long UnreadableEvents { get; init; }

    /// <summary>Events parked since the last reset: failed on, each on its own, and passed (see <see cref="ParkedEvent"/>).</summary>
    public long ParkedEvents { get; init; }

    /// <summary>The last of them as <c>stream@version</c>; null when none.</summary>
    public string? LastParked { get; init; }
}
