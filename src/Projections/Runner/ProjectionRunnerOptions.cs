namespace HealthEvents.Projections.Runner;

public sealed class ProjectionRunnerOptions
{
    /// <summary>Most events applied in one transaction (short transactions: a long one holds back the global read).</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Whether the projections this node runs follow the live log together: one read and one transaction per batch for
    /// all of them, instead of a subscription and a transaction each (a transaction's commit record and checkpoint row
    /// per projection per batch). Catch-up after a start or a failure, and rebuilds, stay per projection.
    /// </summary>
    public bool ShareBatches { get; set; } = true;

    /// <summary>How often a node that is not running a projection tries to take its lock.</summary>
    public TimeSpan LockRetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the running node checks its lock connection and whether a rebuild waits for the lock.</summary>
    public TimeSpan LeaseCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First wait after a failure; doubles per consecutive failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often <see cref="ProjectionRunner.WaitForAsync(string, Application.Ports.GlobalPosition, TimeSpan, CancellationToken)"/>
    /// re-reads a checkpoint that another node moves.</summary>
    public TimeSpan RemoteCheckpointPollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the runner asks its <see cref="IProjectionSource"/>s for projections declared meanwhile (on any node).</summary>
    public TimeSpan SourcePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal TimeSpan BackoffAfter(int consecutiveFailures)
    {
        var factor = Math.Pow(2, Math.Clamp(consecutiveFailures - 1, 0, 20));
        var ms = Math.Min(MaxBackoff.TotalMilliseconds, MinBackoff.TotalMilliseconds * factor);
        return TimeSpan.FromMilliseconds(ms);
    }
}
