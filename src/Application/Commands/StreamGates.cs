using System.Collections.Immutable;

namespace HealthEvents.Application.Commands;

/// <summary>
/// One turn at a time per stream on this node: the commands of one stream queue (first come, first served) for
/// load, decide, endorse and append, instead of deciding on the same version and colliding at the append. A turn
/// decides against the state the previous turn cached, so on one node a busy stream costs a queue, never a conflict;
/// conflicts remain only between nodes (the executor's attempts handle those).
/// <para>
/// Bounded: at most <see cref="MaxQueuedPerStream"/> commands hold or wait for one stream's turn; beyond that the
/// command is refused at once with <see cref="StreamBusyException"/> (a 503 with Retry-After), not queued without end.
/// A gate exists only while someone holds or waits for it: the last one out removes it, so idle streams cost nothing.
/// The turn's holder may take the work the waiters queued (<see cref="StreamTurn.Take{T}"/>) and decide it together with
/// its own, in one round (<see cref="CommandExecutor"/>): a waiter whose work was done passes the turn straight on.
/// A command issued from inside a turn for the same stream (a store hook acting as a second writer in tests, a nested
/// command) would wait for itself; it runs without a turn instead (<see cref="IsHeldHere"/>).
/// </para>
/// </summary>
public sealed class StreamGates(int maxQueuedPerStream = StreamGates.DefaultMaxQueuedPerStream)
{
    public const int DefaultMaxQueuedPerStream = 512;

    private static readonly AsyncLocal<ImmutableHashSet<string>?> Held = new();
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    public int MaxQueuedPerStream => maxQueuedPerStream;

    /// <summary>Streams that have a gate now (someone holds or waits for their turn).</summary>
    public int ActiveGates
    {
        get { lock (_gates) return _gates.Count; }
    }

    /// <summary>Whether this async flow already holds <paramref name="streamId"/>'s turn.</summary>
    public static bool IsHeldHere(string streamId) => Held.Value?.Contains(streamId) == true;

    /// <summary>
    /// Marks the caller's async flow (and what it calls) as holding <paramref name="streamId"/>'s turn. Call it in the
    /// method that holds the turn: an async method's changes to the flow end when it returns.
    /// </summary>
    public static void MarkHeldHere(string streamId) => Held.Value = (Held.Value ?? ImmutableHashSet.Create<string>(StringComparer.Ordinal)).Add(streamId);

    /// <summary>
    /// Waits for <paramref name="streamId"/>'s turn; dispose the result to pass it on. Throws
    /// <see cref="StreamBusyException"/> when the stream's queue is full, <see cref="OperationCanceledException"/> when
    /// <paramref name="ct"/> ends the wait (the turn is then never taken).
    /// </summary>
    public async Task<IDisposable> EnterAsync(string streamId, CancellationToken ct) => await EnterAsync(streamId, work: null, ct);

    /// <summary>
    /// Waits for <paramref name="streamId"/>'s turn as <see cref="EnterAsync(string, CancellationToken)"/> does, with the
    /// caller's <paramref name="work"/> queued meanwhile: whoever holds the turn may take it (<see cref="StreamTurn.Take{T}"/>)
    /// and do it in its round, so the caller finds it done when its own turn comes. Work not taken when the wait ends
    /// (cancelled, or the queue full) leaves the queue.
    /// </summary>
    public async Task<StreamTurn> EnterAsync(string streamId, object? work, CancellationToken ct)
    {
        Gate gate;
        lock (_gates)
        {
            if (!_gates.TryGetValue(streamId, out gate!)) _gates[streamId] = gate = new Gate();
            if (gate.Users >= maxQueuedPerStream) throw new StreamBusyException(streamId);
            gate.Users++;
            if (work is not null) gate.Queued.Add(work);
        }
        try
        {
            await gate.Turn.WaitAsync(ct);
        }
        catch
        {
            lock (_gates) if (work is not null) gate.Queued.Remove(work);
            Leave(streamId, gate);
            throw;
        }
        return new StreamTurn(this, streamId, gate);
    }

    /// <summary>Commands queued for <paramref name="streamId"/>'s turn on this node, not taken by a round yet.</summary>
    public int Queued(string streamId)
    {
        lock (_gates) return _gates.TryGetValue(streamId, out var gate) ? gate.Queued.Count : 0;
    }

    private void Leave(string streamId, Gate gate)
    {
        lock (_gates)
            if (--gate.Users == 0) _gates.Remove(streamId);
    }

    /// <summary>
    /// <paramref name="first"/> and the work of its type queued after it, in arrival order, at most <paramref name="max"/>,
    /// taken out of the queue; nothing when <paramref name="first"/> is no longer queued (an earlier round took it).
    /// </summary>
    private List<T> Take<T>(Gate gate, T first, int max) where T : class
    {
        lock (_gates)
        {
            var at = gate.Queued.IndexOf(first);
            if (at < 0) return [];
            var taken = gate.Queued.Skip(at).OfType<T>().Take(max).ToList();
            foreach (var work in taken) gate.Queued.Remove(work);
            return taken;
        }
    }

    internal sealed class Gate
    {
        public readonly SemaphoreSlim Turn = new(1, 1);
        public int Users; // holder and waiters; guarded by the dictionary's lock
        public readonly List<object> Queued = []; // waiters' work in arrival order; guarded by the dictionary's lock
    }

    /// <summary>A stream's turn, held until disposed.</summary>
    public sealed class StreamTurn : IDisposable
    {
        private readonly StreamGates _owner;
        private readonly string _streamId;
        private readonly Gate _gate;
        private int _disposed;

        internal StreamTurn(StreamGates owner, string streamId, Gate gate) => (_owner, _streamId, _gate) = (owner, streamId, gate);

        /// <summary>
        /// Takes the holder's own queued work (<paramref name="first"/>) and the work of its type queued after it, in arrival
        /// order, at most <paramref name="max"/>: the holder does it in this turn, and completes it before passing the turn
        /// on. Nothing when <paramref name="first"/> was taken already (an earlier holder did it).
        /// </summary>
        public List<T> Take<T>(T first, int max) where T : class => _owner.Take(_gate, first, max);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _gate.Turn.Release();
            _owner.Leave(_streamId, _gate);
        }
    }
}

/// <summary>Too many commands already wait for this stream on this node: retry after a moment (503, Retry-After).</summary>
public sealed class StreamBusyException(string streamId)
    : Exception("The stream has too many commands waiting on this node; retry shortly.")
{
    public string StreamId { get; } = streamId;
}
