using System.Reflection;
using System.Text.Json;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Serialization;

/// <summary>
/// Maps events to their stored names and bytes. Names come from [EventType], never the CLR type, so
/// a namespace or class rename leaves stored bytes untouched. Bytes are produced once, at decision
/// time, then stored and hashed as they are.
/// </summary>
public sealed class EventSerializer
{
    private readonly Dictionary<string, Type> _byName;
    private readonly Dictionary<Type, string> _byType;

    public EventSerializer(params Assembly[] eventAssemblies)
    {
        _byName = new(StringComparer.Ordinal);
        _byType = new();
        var assemblies = eventAssemblies.Length > 0 ? eventAssemblies : [typeof(IEvent).Assembly];
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.GetCustomAttribute<EventTypeAttribute>() is not { } attribute) continue;
            if (!_byName.TryAdd(attribute.Name, type))
                throw new InvalidOperationException($"Two event types share the stored name {attribute.Name}.");
            _byType[type] = attribute.Name;
        }
    }

    public static EventSerializer Default { get; } = new();

    public string NameOf(IEvent e) => _byType.TryGetValue(e.GetType(), out var name)
        ? name
        : throw new InvalidOperationException($"{e.GetType().Name} has no [EventType] name.");

    public byte[] Serialize(IEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, e.GetType(), Json.Options);

    public bool IsKnown(string storedName) => _byName.ContainsKey(storedName);

    public IEvent Deserialize(string storedName, ReadOnlySpan<byte> data) =>
        _byName.TryGetValue(storedName, out var type)
            ? (IEvent)(JsonSerializer.Deserialize(data, type, Json.Options)
                       ?? throw new InvalidDataException($"Event {storedName} has empty data."))
            : throw new InvalidDataException($"Unknown stored event type {storedName}.");
}
