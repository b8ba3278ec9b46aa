using System.Text.Json;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// A stream's metadata as EventStoreDB keeps it: the JSON of the last event of its <c>$$</c> stream. Only the truncate-before
/// (<c>$tb</c>) matters here: the first revision a read of the stream serves. A soft delete sets it to the largest number
/// (<see cref="long.MaxValue"/>); a no-stream append then recreates the stream after the deleted revisions instead of at 0.
/// </summary>
internal static class EventStoreDbStreamMetadata
{
    /// <summary>The metadata stream of the server's stream <paramref name="serverStream"/>.</summary>
    public static string StreamOf(string serverStream) => "$$" + serverStream;

    /// <summary>
    /// The <c>$tb</c> the metadata sets (0: none). Metadata that is not a JSON object, or a <c>$tb</c> that is not a whole
    /// number, sets none — as the server itself reads it (it takes unreadable metadata for empty).
    /// </summary>
    public static long TruncateBefore(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("$tb", out var tb) && tb.TryGetInt64(out var before) && before > 0
                ? before
                : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }
}
