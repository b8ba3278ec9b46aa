using System.Collections.Concurrent;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// Unwrapped data keys kept briefly, so a busy patient's key is not read and unwrapped on every event.
/// Bounded (cleared when full) and short-lived: another node that forgets a patient cannot evict this
/// node's entry, so the lifetime bounds how long a forgotten key stays usable here.
/// A lookup that raced with a destroy is not cached (<see cref="Epoch"/>), so a destroy on this node is final at once.
/// </summary>
internal sealed class DataKeyCache(TimeProvider time, TimeSpan lifetime, int capacity)
{
    private readonly ConcurrentDictionary<Guid, (byte[] Key, long ExpiresAt)> _entries = new();
    private long _epoch;

    /// <summary>Read before a lookup; pass to <see cref="Set"/> so a key read before a destroy is not cached after it.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    public byte[]? Get(Guid patientId)
    {
        if (!_entries.TryGetValue(patientId, out var entry)) return null;
        if (time.GetTimestamp() < entry.ExpiresAt) return entry.Key;
        _entries.TryRemove(KeyValuePair.Create(patientId, entry));
        return null;
    }

    public void Set(Guid patientId, byte[] key, long epochBeforeLookup)
    {
        if (lifetime <= TimeSpan.Zero) return;
        if (_entries.Count >= capacity) _entries.Clear();
        _entries[patientId] = (key, time.GetTimestamp() + (long)(lifetime.TotalSeconds * time.TimestampFrequency));
        // A destroy that ran meanwhile may have evicted before this insert: undo it.
        if (Epoch != epochBeforeLookup) _entries.TryRemove(patientId, out _);
    }

    public void Evict(Guid patientId)
    {
        Interlocked.Increment(ref _epoch);
        _entries.TryRemove(patientId, out _);
    }
}
