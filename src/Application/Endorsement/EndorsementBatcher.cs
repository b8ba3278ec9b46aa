using System.Diagnostics;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// How proposals are gathered into endorsement batches (Endorsement:Batch* settings, <c>EndorsementSetup.Options</c>).
/// A proposal arriving while no round is in flight goes out at once, alone, so a lone writer never waits for company.
/// Proposals arriving while a round is in flight queue; they go out together as soon as a round finishes, or, when
/// fewer than <see cref="MaxRoundsInFlight"/> rounds are in flight, once the oldest has waited <see cref="Window"/> or
/// <see cref="MaxSize"/> are queued.
/// </summary>
/// <param name="Window">How long a queued proposal waits for company before a further concurrent round carries it (default 2 ms).</param>
/// <param name="MaxSize">The most proposals in one batch (default 64, at most <see cref="EndorsementBatch.MaxSize"/>).</param>
/// <param name="MaxRoundsInFlight">How many batches may be with the endorsers at once (default 2; 1 = strictly one after another).</param>
public sealed record EndorsementBatching(TimeSpan Window, int MaxSize, int MaxRoundsInFlight)
{
    public static readonly EndorsementBatching Default = new(TimeSpan.FromMilliseconds(2), 64, 2);

    /// <summary>Every proposal endorsed on its own, one round each, as before batching.</summary>
    public static readonly EndorsementBatching None = new(TimeSpan.Zero, 1, int.MaxValue);
}

/// <summary>
/// Queues units of items and hands them to <c>send</c> in batches as <see cref="EndorsementBatching"/> says. A unit is one
/// item, or a chain of one stream's items each decided after the one before it: it goes whole, in order, into one batch
/// (at most <see cref="EndorsementBatching.MaxSize"/> items, which the caller keeps to). Two units of the same stream never
/// share a batch (they compete for the same version; the later one waits for the next round), nor do units of different
/// <c>group</c>s (whatever must be the same for one signature to cover them; a unit's first item speaks for it).
/// </summary>
/// <param name="send">Runs one round; completes each item's own outcome and never throws.</param>
internal sealed class EndorsementBatcher<T>(
    EndorsementBatching options, Func<IReadOnlyList<T>, Task> send, Func<T, string> stream, Func<T, string> group)
{
    private readonly Lock _lock = new();
    private readonly List<(IReadOnlyList<T> Unit, long Queued)> _queue = [];
    private int _inFlight;
    private bool _timerArmed;

    public void Add(IReadOnlyList<T> unit)
    {
        lock (_lock) _queue.Add((unit, Stopwatch.GetTimestamp()));
        Pump();
    }

    private void Pump()
    {
        var batches = new List<List<T>>();
        lock (_lock)
        {
            while (_queue.Count > 0 && _inFlight < options.MaxRoundsInFlight)
            {
                var waited = Stopwatch.GetElapsedTime(_queue[0].Queued);
                if (_inFlight > 0 && _queue.Count < options.MaxSize && waited < options.Window)
                {
                    ArmTimer(options.Window - waited);
                    break;
                }
                batches.Add(Take());
                _inFlight++;
            }
        }
        foreach (var batch in batches) _ = RunAsync(batch);
    }

    /// <summary>The oldest unit and those queued after it that may join it, up to the batch size. Under the lock.</summary>
    private List<T> Take()
    {
        var batch = new List<T>();
        var streams = new HashSet<string>(StringComparer.Ordinal);
        var kind = group(_queue[0].Unit[0]);
        for (var i = 0; i < _queue.Count && batch.Count < options.MaxSize; i++)
        {
            var unit = _queue[i].Unit;
            if (batch.Count > 0 && batch.Count + unit.Count > options.MaxSize) continue;
            if (group(unit[0]) != kind || !streams.Add(stream(unit[0]))) continue;
            batch.AddRange(unit);
            _queue.RemoveAt(i--);
        }
        return batch;
    }

    private void ArmTimer(TimeSpan delay)
    {
        if (_timerArmed) return;
        _timerArmed = true;
        _ = Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.FromMilliseconds(1)).ContinueWith(_ =>
        {
            lock (_lock) _timerArmed = false;
            Pump();
        }, TaskScheduler.Default);
    }

    private async Task RunAsync(List<T> batch)
    {
        try
        {
            await Task.Yield(); // the round runs on its own, not on the thread of the caller that started it
            await send(batch);
        }
        finally
        {
            lock (_lock) _inFlight--;
            Pump();
        }
    }
}
