using HealthEvents.Application.Ports;

namespace HealthEvents.TestSupport;

/// <summary>
/// The real store, with a hook that runs a concurrent writer's command right before chosen appends —
/// the race a second node would cause, made deterministic — and one after reads.
/// </summary>
public sealed class InterferingStore(IEventStore inner) : IEventStore
{
    private bool _interfering;

    /// <summary>Runs before the next <see cref="Times"/> appends (not before its own).</summary>
    public Func<Task>? Interference { get; set; }

    /// <summary>Which appends (stream, events) are interfered with; null: every one.</summary>
    public Func<string, IReadOnlyList<ProposedEvent>, bool>? When { get; set; }

    public int Times { get; set; }

    public async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
        TransactionEndorsement? endorsement = null, CancellationToken ct = default)
    {
        if (!_interfering && Times > 0 && Interference is { } interference && (When?.Invoke(streamId, events) ?? true))
        {
            Times--;
            _interfering = true; // the interfering command itself appends normally
            try { await interference(); }
            finally { _interfering = false; }
        }
        return await inner.AppendAsync(streamId, expected, events, endorsement, ct);
    }

    /// <summary>The size of every chain appended in one call (<see cref="IEventStore.AppendChainAsync"/>), in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<int> Chains { get; } = new();

    /// <summary>The inner store's own chain append; one transaction at a time (each interfered with as above) while interfering.</summary>
    public Task<ChainAppendResult> AppendChainAsync(string streamId, IReadOnlyList<ChainedAppend> transactions, CancellationToken ct = default)
    {
        Chains.Enqueue(transactions.Count);
        return Times > 0 ? ChainedAppend.OneByOneAsync(this, streamId, transactions, ct) : inner.AppendChainAsync(streamId, transactions, ct);
    }

    /// <summary>Runs for each event a stream read yields, before it is yielded (to count reads, or to cancel part-way).</summary>
    public Action<EventEnvelope>? OnRead { get; set; }

    /// <summary>Runs once a stream read has yielded its last event (a caller giving up right after it, say).</summary>
    public Action? AfterRead { get; set; }

    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(
        string streamId, long fromVersion = 0, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var e in inner.ReadStreamAsync(streamId, fromVersion, ct))
        {
            OnRead?.Invoke(e);
            yield return e;
        }
        AfterRead?.Invoke();
    }

    public Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default) => inner.ReadLastAsync(streamId, ct);

    public Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default) =>
        inner.ReadAllAsync(after, maxCount, ct);

    public IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(GlobalPosition? after, CancellationToken ct = default) =>
        inner.SubscribeAllAsync(after, ct);

    public Task<bool> IsHealthyAsync(CancellationToken ct = default) => inner.IsHealthyAsync(ct);
}
