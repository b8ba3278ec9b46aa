using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthEvents.Projections.Runner;

public enum RebuildPhase { WaitingForLock, Resetting, Replaying, Completed }

/// <summary>
/// Where a rebuild is. <see cref="EventsTotal"/>: events in the log when the rebuild started (null when the event store
/// cannot tell); events appended meanwhile are replayed too, so done may pass it.
/// </summary>
public sealed record RebuildProgress(
    string Projection,
    RebuildPhase Phase,
    long EventsDone,
    long? EventsTotal,
    double EventsPerSecond,
    TimeSpan Elapsed,
    GlobalPosition? Position);

/// <summary>
/// Rebuilds one projection from history: takes its advisory lock (a node running it steps down within a lease check
/// and takes it back afterwards, from the rebuilt checkpoint), deletes its documents and checkpoint in one transaction,
/// then replays the whole log in batches, each with its checkpoint as the runner does. Other projections are untouched.
/// If the rebuild stops half-way, whichever node takes the lock next continues from the checkpoint it left.
/// </summary>
public sealed class ProjectionRebuilder
{
    private readonly IEventStore _eventStore;
    private readonly ReadModelStore _readModels;
    private readonly ProjectionApplier _applier;
    private readonly Dictionary<string, IProjection> _projections;
    private readonly IReadOnlyList<IProjectionSource> _sources;
    private readonly Lock _gate = new();
    private readonly IEventLogStatistics? _statistics;
    private readonly ProjectionRunnerOptions _options;
    private readonly ILogger _logger;

    public ProjectionRebuilder(
        IEventStore eventStore,
        ReadModelStore readModels,
        IEnumerable<IProjection> projections,
        EventSerializer? serializer = null,
        IEventLogStatistics? statistics = null,
        ProjectionRunnerOptions? options = null,
        ILogger<ProjectionRebuilder>? logger = null,
        IEnumerable<IProjectionSource>? sources = null)
    {
        _eventStore = eventStore;
        _readModels = readModels;
        _projections = projections.ToDictionary(p => p.Name, StringComparer.Ordinal);
        _statistics = statistics;
        _options = options ?? new ProjectionRunnerOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _applier = new ProjectionApplier(readModels, serializer ?? EventSerializer.Default, _logger);
        _sources = sources?.ToList() ?? [];
    }

    /// <summary>The projections this rebuilder knows: those it was built with, those added, and those its sources had when last asked.</summary>
    public IReadOnlyCollection<string> ProjectionNames
    {
        get { lock (_gate) return _projections.Keys.ToList(); }
    }

    /// <summary>Makes <paramref name="projection"/> rebuildable by name; false when a projection of that name is known.</summary>
    public bool Add(IProjection projection)
    {
        lock (_gate) return _projections.TryAdd(projection.Name, projection);
    }

    /// <summary>Asks the sources for projections declared since (research projections) and adds them.</summary>
    public async Task RefreshAsync(CancellationToken ct = default)
    {
        foreach (var source in _sources)
        foreach (var p in await source.LoadAsync(ct))
            Add(p);
    }

    /// <summary>Rebuilds projection <paramref name="name"/>; returns the final progress. Throws <see cref="ArgumentException"/> for an unknown name.</summary>
    public async Task<RebuildProgress> RebuildAsync(string name, IProgress<RebuildProgress>? progress = null, CancellationToken ct = default)
    {
        if (Find(name) is null && _sources.Count > 0) await RefreshAsync(ct);
        if (Find(name) is not { } projection)
            throw new ArgumentException($"No projection is named {name}.", nameof(name));

        var clock = Stopwatch.StartNew();
        RebuildProgress Report(RebuildPhase phase, long done, long? total, GlobalPosition? at)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var p = new RebuildProgress(name, phase, done, total, seconds > 0 ? done / seconds : 0, clock.Elapsed, at);
            progress?.Report(p);
            return p;
        }

        Report(RebuildPhase.WaitingForLock, 0, null, null);
        await _readModels.EnsureSchemaAsync(ct);
        await using var held = await ProjectionLock.AcquireAsync(_readModels.LockConnectionString, name, ct);

        Report(RebuildPhase.Resetting, 0, null, null);
        var total = _statistics is null ? null : await _statistics.CountEventsAsync(ct);
        await _applier.ResetAsync(projection, ct);
        clock.Restart();

        ProjectionCheckpoint? checkpoint = null;
        long done = 0;
        var lastLog = TimeSpan.Zero;
        while (true)
        {
            var batch = await _eventStore.ReadAllAsync(checkpoint?.Position, _options.BatchSize, ct);
            if (batch.Count == 0) break;
            // An event it still fails on is parked again (a rebuild first deleted the parked rows: each is tried anew).
            checkpoint = await _applier.ApplyOrParkAsync(projection, checkpoint, batch, _ => { }, ct);
            done += batch.Count;
            if (total is { } t && done > t) total = done;
            var p = Report(RebuildPhase.Replaying, done, total, checkpoint.Position);
            if (clock.Elapsed - lastLog >= TimeSpan.FromSeconds(5))
            {
                lastLog = clock.Elapsed;
                RunnerLog.RebuildProgress(_logger, name, done, total, p.EventsPerSecond);
            }
            if (batch.Count < _options.BatchSize) break;
        }
        // Completed: the whole log was read, so its total is what was done, counted or not (EventStoreDB has no count).
        var final = Report(RebuildPhase.Completed, done, done, checkpoint?.Position);
        RunnerLog.RebuildProgress(_logger, name, done, final.EventsTotal, final.EventsPerSecond);
        return final;
    }

    private IProjection? Find(string name)
    {
        lock (_gate) return _projections.GetValueOrDefault(name);
    }
}
