namespace HealthEvents.Application.Serialization;

/// <summary>
/// A stored event this build cannot read as one of its events: an unknown stored name, bytes that are not the JSON of
/// its type, or JSON that lacks a required member (a positional record's parameter without a default, or a
/// non-nullable reference member that is absent or null). Deterministic: reading it again never helps, so readers
/// skip it (views) or refuse the stream as damaged (commands), and verification reports it. The message names the
/// stored type only, never the bytes (they may hold personal data); <see cref="Exception.InnerException"/> is the
/// serializer's exception, whose message must not be logged either. A <see cref="System.Text.Json.JsonException"/>
/// (the JSON is not that of an event of this build), so readers that already treat bad JSON as bad data do so for it too.
/// </summary>
public sealed class UnreadableEventException(string storedName, string reason, Exception? inner = null)
    : System.Text.Json.JsonException($"Stored event of type '{Truncated(storedName)}' is unreadable: {reason}.", inner)
{
    /// <summary>The stored type name as written (may be anything a writer chose).</summary>
    public string StoredName { get; } = storedName;

    /// <summary>A foreign type name is attacker-chosen text: keep exception messages short.</summary>
    private static string Truncated(string name) => name.Length <= 64 ? name : name[..64] + "…";
}
