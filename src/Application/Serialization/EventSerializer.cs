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

    /// <summary>
    /// The event of the stored bytes. JSON may escape a lone UTF-16 surrogate (<c>"\ud800"</c>), which no .NET string
    /// can hold as text: an event written so (before the text rule, or by another node) is read with each such escape
    /// as U+FFFD, the replacement character — the stored bytes and their hash never change, and every reader (views,
    /// deciders, endorsers) reads it alike instead of failing on it forever.
    /// </summary>
    /// <exception cref="UnreadableEventException">The stored name is unknown, the bytes are not its JSON, or a required
    /// member is missing or null (see <see cref="Json.Strict"/>).</exception>
    public IEvent Deserialize(string storedName, ReadOnlySpan<byte> data)
    {
        if (!_byName.TryGetValue(storedName, out var type)) throw new UnreadableEventException(storedName, "unknown type");
        object? read;
        try
        {
            try
            {
                read = JsonSerializer.Deserialize(data, type, Json.Strict);
            }
            catch (Exception e) when ((e is JsonException or InvalidOperationException) && JsonSurrogates.Replace(data) is { } cleaned)
            {
                read = JsonSerializer.Deserialize(cleaned, type, Json.Strict);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new UnreadableEventException(storedName, "not the JSON of its type", e);
        }
        return (IEvent)(read ?? throw new UnreadableEventException(storedName, "empty data"));
    }
}

/// <summary>Lone UTF-16 surrogates escaped in JSON text (<c>\uD800</c> without its pair), replaced by <c>\uFFFD</c>.</summary>
public static class JsonSurrogates
{
    /// <summary>The JSON with every unpaired surrogate escape replaced; null when it has none.</summary>
    public static byte[]? Replace(ReadOnlySpan<byte> json)
    {
        var text = System.Text.Encoding.UTF8.GetString(json);
        var builder = new System.Text.StringBuilder(text.Length);
        var changed = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] == '\\')
            {
                builder.Append("\\\\"); // an escaped backslash: what follows is text, not an escape
                i++;
                continue;
            }
            if (Escape(text, i) is { } unit && char.IsSurrogate(unit))
            {
                var paired = char.IsHighSurrogate(unit) && Escape(text, i + 6) is { } low && char.IsLowSurrogate(low);
                var lone = !paired && !(char.IsLowSurrogate(unit) && i >= 6 && Escape(text, i - 6) is { } high && char.IsHighSurrogate(high));
                if (paired)
                {
                    builder.Append(text, i, 12);
                    i += 11;
                    continue;
                }
                if (lone)
                {
                    builder.Append("\\uFFFD");
                    i += 5;
                    changed = true;
                    continue;
                }
            }
            builder.Append(text[i]);
        }
        return changed ? System.Text.Encoding.UTF8.GetBytes(builder.ToString()) : null;
    }

    /// <summary>The UTF-16 unit of a <c>\uXXXX</c> escape at <paramref name="at"/>, if there is one.</summary>
    private static char? Escape(string text, int at) =>
        at >= 0 && at + 6 <= text.Length && text[at] == '\\' && text[at + 1] == 'u'
        && ushort.TryParse(text.AsSpan(at + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var unit)
            ? (char)unit
            : null;
}

/// <summary>Envelope metadata: who did it and on which command. Stays in clear for the audit; holds no clinical content.</summary>
public sealed record EventMetadata(
    string ActorId,
    Role ActorRole,
    string Hospital,
    Guid CommandId,
    Guid CorrelationId,
    DateTimeOffset OccurredAt)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json.Options);

    /// <exception cref="UnreadableEventException">The bytes are not envelope metadata (a member missing or null).</exception>
    public static EventMetadata FromBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return JsonSerializer.Deserialize<EventMetadata>(bytes, Json.Strict) ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new UnreadableEventException("(metadata)", "not envelope metadata", e);
        }
    }
}
