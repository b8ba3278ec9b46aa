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

    public DateTimeOffset UpdatedAt { get; set; }

    [Version]
    public long Revision { get; set; }

    [JsonIgnore]
    public GlobalPosition Position => new(Commit, Prepare);
}
