namespace HealthEvents.Api.Tests;

/// <summary>An in-memory exporter's list behind its own lock: exporters add from any thread (TelemetryLeakTests, OperatorTelemetryAttackTests).</summary>
internal sealed class Locked<T>(List<T> items) : ICollection<T>
{
    public int Count { get { lock (items) return items.Count; } }
    public bool IsReadOnly => false;
    public void Add(T item) { lock (items) items.Add(item); }
    public void Clear() { lock (items) items.Clear(); }
    public bool Contains(T item) { lock (items) return items.Contains(item); }
    public void CopyTo(T[] array, int arrayIndex) { lock (items) items.CopyTo(array, arrayIndex); }
    public bool Remove(T item) { lock (items) return items.Remove(item); }
    public IEnumerator<T> GetEnumerator() { lock (items) return items.ToList().GetEnumerator(); }
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
