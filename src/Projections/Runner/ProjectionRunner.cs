using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// Feeds every projection from the global log: each catches up on its own from its checkpoint in batches, applying a
/// batch and storing the new checkpoint in one transaction (so an event is applied exactly once, crash or not), then
/// joins the shared live feed, which reads the log once for all of them and applies each batch to every one in a single
/// transaction that moves all their checkpoints (<see cref="ProjectionRunnerOptions.ShareBatches"/>; without it each
/// follows its own subscription). Each projection runs on one node at a time, the holder of its PostgreSQL advisory
/// lock; other nodes retry the lock periodically and take over when the holder dies. A failure of the database (or the
/// event store) is retried with an exponential back-off; an event the projection itself fails on is parked and passed
/// (<see cref="ProjectionApplier.ApplyOrParkAsync"/>; never by the ledger). Both are logged with the projection, the
/// position and the exception type only.
/// Projections can join while it runs (<see cref="Add"/>, or found by polling its <see cref="IProjectionSource"/>s):
/// each gets its own worker, which starts from that projection's checkpoint (from the start when it has none).
/// </summary>
public sealed partial class ProjectionRunner : BackgroundService
{
    private readonly IEventStore _eventStore;
    private readonly ReadModelStore _readModels;
    private readonly ProjectionApplier _applier;
    private readonly ProjectionRunnerOptions _options;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<IProjectionSource> _sources;
    private readonly Lock _gate = new();
    private readonly List<Task> _running = [];
    private volatile Worker[] _workers;
    private readonly Dictionary<string, Worker> _byName;
    private readonly SharedFeed _feed;
    private CancellationToken? _stopping; // set once ExecuteAsync has started the workers

    public ProjectionRunner(
        IEventStore eventStore,
        ReadModelStore readModels,
        IEnumerable<IProjection> projections,
        EventSerializer? serializer = null,
        ProjectionRunnerOptions? options = null,
        ILogger<ProjectionRunner>? logger = null,
        IEnumerable<IProjectionSource>? sources = null)
    {
        _eventStore = eventStore;
        _readModels = readModels;
        _options = options ?? new ProjectionRunnerOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.BatchSize);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _applier = new ProjectionApplier(readModels, serializer ?? EventSerializer.Default, _logger);
        _sources = sources?.ToList() ?? [];
        _feed = new SharedFeed(this);
        _workers = [.. projections.Select(p => new Worker(p))];
        _byName = new Dictionary<string, Worker>(StringComparer.Ordinal);
        foreach (var w in _workers)
            if (!_byName.TryAdd(w.Name, w))
                throw new ArgumentException($"Two projections are named {w.Name}.", nameof(projections));
    }

    public IReadOnlyList<string> ProjectionNames => _workers.Select(w => w.Name).ToList();

    /// <summary>
    /// Runs <paramref name="projection"/> too, from its stored checkpoint (from the start when it has none); at once when
    /// the runner is running, else when it starts. False (and nothing changes) when a projection of that name is known.
    /// </summary>
    public bool Add(IProjection projection)
    {
        ArgumentNullException.ThrowIfNull(projection);
        lock (_gate)
        {
            if (_byName.ContainsKey(projection.Name)) return false;
            var w = new Worker(projection);
            _byName.Add(w.Name, w);
            _workers = [.. _workers, w];
            if (_stopping is { } stop) StartWorker(w, stop);
            return true;
        }
    }

    /// <summary>
    /// Completes at the next change of <paramref name="projection"/>'s state on this node (a batch applied here, a
    /// checkpoint loaded or observed, a failure, leadership gained or lost): to wait for a projection this node runs
    /// instead of polling its documents. Take it before looking, so nothing that happens after the look is missed.
    /// </summary>
    public Task NextChangeAsync(string projection)
    {
        Worker? w;
        lock (_gate) _byName.TryGetValue(projection, out w);
        return w?.Changed ?? throw new ArgumentException($"No projection is named {projection}.", nameof(projection));
    }

    /// <summary>How many projections follow the live log in the shared batches now (the others catch up or back off alone).</summary>
    internal int SharedProjections => _feed.Count;

    /// <summary>What this node knows now, without a database round trip.</summary>
    public IReadOnlyList<ProjectionStatus> Status => _workers.Select(w => w.Snapshot()).ToList();

    /// <summary>Status with the stored checkpoint of every projection this node does not run (another node moves those).</summary>
    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken ct = default)
    {
        foreach (var w in _workers.Where(w => !w.Snapshot().RunningHere))
            w.ObservedStored(await _applier.LoadCheckpointAsync(w.Name, ct));
        return Status;
    }

    /// <summary>
    /// Waits until projection <paramref name="projection"/> has applied the event at <paramref name="position"/>
    /// (read-your-writes). True when it has, false on timeout. Works whichever node runs the projection.
    /// </summary>
    public async Task<bool> WaitForAsync(string projection, GlobalPosition position, TimeSpan timeout, CancellationToken ct = default)
    {
        Worker? w;
        lock (_gate) _byName.TryGetValue(projection, out w);
        if (w is null)
            throw new ArgumentException($"No projection is named {projection}.", nameof(projection));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var changed = w.Changed;
                var status = w.Snapshot();
                if (status.RunningHere)
                {
                    if (status.Checkpoint is { } local && local >= position) return true;
                    if (status.Stalled) return false; // it will not get there by waiting: answer now, saying so
                    await changed.WaitAsync(deadline.Token);
                    continue;
                }
                // Not running here: only the stored checkpoint counts (a rebuild elsewhere may have reset it).
                var stored = await _applier.LoadCheckpointAsync(projection, deadline.Token);
                w.ObservedStored(stored);
                if (stored is not null && stored.Position >= position) return true;
                await Task.WhenAny(changed, Task.Delay(_options.RemoteCheckpointPollInterval, deadline.Token));
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        // The deadline can cancel work that wraps the cancellation in its own exception (Marten creating its schema on
        // first use, say): past the deadline that is a timeout, never an error of the caller's.
        catch (Exception) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Waits until every projection has applied the event at <paramref name="position"/>; false on timeout.</summary>
    public async Task<bool> WaitForAsync(GlobalPosition position, TimeSpan timeout, CancellationToken ct = default)
    {
        var until = DateTime.UtcNow + timeout;
        foreach (var w in _workers)
        {
            var left = until - DateTime.UtcNow;
            if (!await WaitForAsync(w.Name, position, left > TimeSpan.Zero ? left : TimeSpan.Zero, ct)) return false;
        }
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _readModels.EnsureSchemaAsync(stoppingToken);
                break;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var backoff = _options.BackoffAfter(attempt);
                RunnerLog.RunFailed(_logger, "(schema)", "start", RunnerLog.TypeOf(e), backoff);
                if (!await DelayAsync(backoff, stoppingToken)) return;
            }
        }
        lock (_gate)
        {
            _stopping = stoppingToken;
            if (_options.ShareBatches) _running.Add(Task.Run(() => _feed.RunAsync(stoppingToken), CancellationToken.None));
            foreach (var w in _workers) StartWorker(w, stoppingToken);
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_sources.Count > 0) await AddFromSourcesAsync(stoppingToken);
            if (!await DelayAsync(_sources.Count > 0 ? _options.SourcePollInterval : Timeout.InfiniteTimeSpan, stoppingToken)) break;
        }
        // Workers added meanwhile are in the list too; each ends when the host stops.
        Task[] running;
        lock (_gate) running = [.. _running];
        await Task.WhenAll(running);
    }

    private void StartWorker(Worker w, CancellationToken stop) =>
        _running.Add(Task.Run(() => RunWorkerAsync(w, stop), CancellationToken.None));

    /// <summary>Starts a worker for every projection a source knows and this runner does not; a failing source is retried at the next poll.</summary>
    private async Task AddFromSourcesAsync(CancellationToken ct)
    {
        foreach (var source in _sources)
        {
            try
            {
                foreach (var p in await source.LoadAsync(ct)) Add(p);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                RunnerLog.SourceFailed(_logger, source.GetType().Name, RunnerLog.TypeOf(e));
            }
        }
    }

    // ------------------------------------------------------------------ leadership

    private async Task RunWorkerAsync(Worker w, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            ProjectionLock? held = null;
            try
            {
                held = await ProjectionLock.TryAcquireAsync(_readModels.LockConnectionString, w.Name, stop);
                if (held is null)
                {
                    await DelayAsync(_options.LockRetryInterval, stop);
                    continue;
                }
                var reason = await LeadAsync(w, held, stop);
                RunnerLog.SteppedDown(_logger, w.Name, reason);
                await DelayAsync(_options.LockRetryInterval, stop); // let the waiter (a rebuild) or another node have it
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                RunnerLog.LockFailed(_logger, w.Name, RunnerLog.TypeOf(e));
                await DelayAsync(_options.LockRetryInterval, stop);
            }
            finally
            {
                w.SetRunningHere(false);
                if (held is not null) await held.DisposeAsync();
            }
        }
    }

    /// <summary>Runs the projection while this node holds its lock; returns why it stopped (unless the host stops).</summary>
    private async Task<string> LeadAsync(Worker w, ProjectionLock held, CancellationToken stop)
    {
        using var leadership = CancellationTokenSource.CreateLinkedTokenSource(stop);
        string reason = "stopped";
        var watch = WatchLeaseAsync(held, leadership, r => reason = r);
        try
        {
            w.SetRunningHere(true);
            await FollowLogAsync(w, leadership.Token);
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            // stepped down: the watch says why
        }
        finally
        {
            w.SetRunningHere(false);
            await leadership.CancelAsync();
            await watch;
        }
        stop.ThrowIfCancellationRequested();
        return reason;
    }

    /// <summary>Ends the leadership when the lock connection breaks or a rebuild queues for the lock.</summary>
    private async Task WatchLeaseAsync(ProjectionLock held, CancellationTokenSource leadership, Action<string> stepDown)
    {
        var ct = leadership.Token;
        try
        {
            while (true)
            {
                await Task.Delay(_options.LeaseCheckInterval, ct);
                if (await held.HasWaitersAsync(ct))
                {
                    stepDown("a rebuild waits for the lock");
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            stepDown("lock connection lost: " + RunnerLog.TypeOf(e));
        }
        await leadership.CancelAsync();
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
