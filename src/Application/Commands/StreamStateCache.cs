using System.Collections.Concurrent;

namespace HealthEvents.Application.Commands;

/// <summary>A stream's decision state as of a version, with that version's hash (the next prevHash).</summary>
public sealed record StreamSnapshot<TState>(TState State, long Version, byte[] LastHash);

/// <summary>
/// Keeps the write-side state of recently used streams, so loading a long stream reads only the
/// events after the cached version. Safe without invalidation: streams are append-only and states
/// immutable, so a cached snapshot is always a true prefix that the next load extends.
/// </summary>
public sealed class StreamStateCache(int capacity = 50_000)
{
    private readonly ConcurrentDictionary<(string, Type), object> _entries = new();

    public StreamSnapshot<TState>? TryGet<TState>(string streamId) =>
        _entries.TryGetValue((streamId, typeof(TState)), out var entry) ? (StreamSnapshot<TState>)entry : null;

    public void Put<TState>(string streamId, StreamSnapshot<TState> snapshot)
    {
        // Crude bound: dropping everything is correct (a miss only costs a full read) and needs no LRU bookkeeping.
        if (_entries.Count >= capacity) _entries.Clear();
        _entries.AddOrUpdate((streamId, typeof(TState)), snapshot,
            (_, existing) => ((StreamSnapshot<TState>)existing).Version >= snapshot.Version ? existing : snapshot);
    }
}
