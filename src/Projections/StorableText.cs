using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HealthEvents.Projections;

/// <summary>
/// The read side stores whatever the write side accepted. An event may carry text PostgreSQL cannot hold in jsonb —
/// U+0000, or a lone UTF-16 surrogate — if it was written before the text rule, or by another node. Every string of a
/// read-model document is written with such characters replaced by U+FFFD (the replacement character, shown as �),
/// so the view stores the row and moves on instead of failing on that event forever. The event itself never changes.
/// </summary>
public sealed class StorableTextConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(Storable(value));

    /// <summary><paramref name="text"/> with U+0000 and lone surrogates replaced by U+FFFD; the same instance when there are none.</summary>
    public static string Storable(string text)
    {
        if (!NeedsCleaning(text)) return text;
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
                continue;
            }
            builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return builder.ToString();
    }

    private static bool NeedsCleaning(string text) => text.Contains('\0') || !Domain.Common.Utf16.IsWellFormed(text);
}
