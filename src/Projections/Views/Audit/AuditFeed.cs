using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>Bounds and pace of the patients' live audit streams (configuration section HealthEvents:LiveAudit).</summary>
public sealed class AuditFeedOptions
{
    /// <summary>
    /// Open streams per patient on one node; a further one is refused (429). A browser holds about six HTTP/1.1
    /// connections per host across its tabs, and each open stream keeps one: the default leaves the page room to work.
    /// </summary>
    public int MaxStreamsPerPatient { get; set; } = 3;

    /// <summary>Open streams on one node, all patients together.</summary>
    public int MaxStreams { get; set; } = 500;

    /// <summary>How often a quiet stream sends a heartbeat, so clients and proxies see it is alive.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The node's one listener for the audit view as it advances. The audit projection names, in the transaction that stores
/// them, every patient whose rows changed (PostgreSQL NOTIFY on <see cref="AuditProjection.RowsChannel"/>: delivered at
/// commit, to every node, whichever node runs the projection). This feed LISTENs on one connection and wakes the streams
/// of those patients only; each then reads its patient's rows after the last one it sent. Nothing polls per client.
/// A lost connection (the database restarting) is opened again with back-off, and every stream is woken once it is back,
/// so what was announced meanwhile is read then.
/// </summary>
public sealed class AuditFeed(ReadModelStore readModels, AuditFeedOptions options, ILogger<AuditFeed> log) : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, List<AuditSubscription>> _byPatient = [];
    private int _open;

    public AuditFeedOptions Options => options;

    /// <summary>A subscription to the patient's new rows, or null when this node's bounds are reached.</summary>
    public AuditSubscription? Subscribe(Guid patientId)
    {
        lock (_gate)
        {
            var streams = _byPatient.GetValueOrDefault(patientId);
            if (_open >= options.MaxStreams || streams?.Count >= options.MaxStreamsPerPatient) return null;
            if (streams is null) _byPatient[patientId] = streams = [];
            var subscription = new AuditSubscription(patientId, Release);
            streams.Add(subscription);
            _open++;
            return subscription;
        }
    }

    private void Release(AuditSubscription subscription)
    {
        lock (_gate)
        {
            if (!_byPatient.TryGetValue(subscription.PatientId, out var streams) || !streams.Remove(subscription)) return;
            if (streams.Count == 0) _byPatient.Remove(subscription.PatientId);
            _open--;
        }
    }

    private void Wake(Guid patientId)
    {
        AuditSubscription[] streams;
        lock (_gate) streams = _byPatient.TryGetValue(patientId, out var list) ? [.. list] : [];
        foreach (var s in streams) s.Wake();
    }

    private void WakeAll()
    {
        AuditSubscription[] streams;
        lock (_gate) streams = [.. _byPatient.Values.SelectMany(l => l)];
        foreach (var s in streams) s.Wake();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Keepalives while waiting: a connection the database dropped is noticed, not waited on forever.
        var connectionString = new NpgsqlConnectionStringBuilder(readModels.ConnectionString)
        {
            Pooling = false, KeepAlive = 10, ApplicationName = "healthevents-audit-feed",
        }.ConnectionString;
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, n) =>
                {
                    if (Guid.TryParse(n.Payload, out var patientId)) Wake(patientId);
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {AuditProjection.RowsChannel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                attempt = 0;
                WakeAll(); // what was announced while nobody listened
                while (true) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The type only: a driver's message may quote the connection's details.
                var backoff = TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt, 5)));
                log.LogWarning("The live audit listener lost its connection ({ExceptionType}); listening again in {Backoff}", e.GetType().Name, backoff);
                try
                {
                    await Task.Delay(backoff, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>One live stream's place in the <see cref="AuditFeed"/>: woken when its patient's rows may have changed.</summary>
public sealed class AuditSubscription : IDisposable
{
    private readonly Action<AuditSubscription> _release;
    private TaskCompletionSource _woken = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _released;

    internal AuditSubscription(Guid patientId, Action<AuditSubscription> release)
    {
        PatientId = patientId;
        _release = release;
    }

    public Guid PatientId { get; }

    internal void Wake() => Volatile.Read(ref _woken).TrySetResult();

    /// <summary>
    /// Waits until the patient's rows may have changed since the last wait returned true (true), or for
    /// <paramref name="timeout"/> or cancellation (false). A notice arriving while the stream was reading is not lost:
    /// the next wait returns at once, and the stream reads again.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        var woken = Volatile.Read(ref _woken);
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, quiet.Token);
        if (await Task.WhenAny(woken.Task, delay) != woken.Task) return false;
        quiet.Cancel(); // the timer is not needed any more
        Interlocked.CompareExchange(ref _woken, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), woken);
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) _release(this);
    }
}
