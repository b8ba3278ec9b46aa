using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace HealthEvents.Domain.Tests;

/// <summary>
/// Events compared as JSON, so list-valued properties compare by content (records compare lists by reference).
/// </summary>
public static class EventJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        WriteIndented = true,
    };

    public static string Serialize<TEvent>(IEnumerable<TEvent> events) where TEvent : IEvent
    {
        var array = new JsonArray();
        foreach (var @event in events)
        {
            array.Add(new JsonObject
            {
                ["type"] = TypeName(@event.GetType()),
                ["data"] = JsonSerializer.SerializeToNode(@event, @event.GetType(), Options),
            });
        }
        return array.ToJsonString(Options);
    }

    public static string TypeName(Type eventType) =>
        eventType.GetCustomAttribute<EventTypeAttribute>()?.Name
        ?? throw new InvalidOperationException($"{eventType.Name} has no [EventType].");
}
