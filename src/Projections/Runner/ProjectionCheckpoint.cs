using HealthEvents.Application.Ports;
using System.Text.Json.Serialization;
using Marten.Schema;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// How far one projection has applied the global log: stored in the same transaction as the documents of the batch
/// that moved it. Its numeric revision goes up by one per batch, so two writers that both started from the same
/// checkpoint cannot both commit (the second one fails with a concurrency exception and applies nothing).
/// </summary>
public sealed class ProjectionCheckpoint
{
    /// <summary>The projection name.</summary>
    public string Id { get; set; } = "";

    public ulong Commit { get; set; }

    public ulong Prepare { get; set; }

    /// <summary>Events read from the log since the last reset, unknown types included.</summary>
    public long EventsProcessed { get; set; }

    /// <summary>Events skipped since the last reset because this build cannot read them (written past the service).</summary>
    public long UnreadableEvents { get; set; }

    /// <summary>The last of them as <c>stream@version</c> (no data), for the operator to look up with <c>verify</c>.</summary>
    public string? LastUnreadable { get; set; }

    /// <summary>Events parked since the last reset: the projection failed on each on its own and went past it (see <see cref="ParkedEvent"/>).</summary>
    public long ParkedEvents { get; set; }

    /// <summary>The last of them as <c>stream@version</c> (no data); its <see cref="ParkedEvent"/> row says why.</summary>
    public string? LastParked { get; set; }

    /// <summary>Events parked since the last one applied (see <see cref="ProjectionApplier.MostParkedInARow"/>).</summary>
    public int ParkedInARow { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    [Version]
    public long Revision { get; set; }

    [JsonIgnore]
    public GlobalPosition Position => new(Commit, Prepare);
}
