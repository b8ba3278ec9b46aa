using System.Text.Json;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// Carries domain commands to endorsers: by their type name and JSON. Commands are never stored, only
/// sent between nodes running the same release, so the CLR name is enough here (unlike events).
/// </summary>
public static class CommandCodec
{
    private static readonly Dictionary<string, Type> Types = typeof(IPatientCommand).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && (typeof(IPatientCommand).IsAssignableFrom(t) || typeof(INetworkCommand).IsAssignableFrom(t)
            || typeof(IResearchCommand).IsAssignableFrom(t) || typeof(ILedgerCommand).IsAssignableFrom(t)))
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Strict on the way in: a null where the command declares none, or a missing constructor parameter, does not read.</summary>
    private static readonly JsonSerializerOptions Strict = new(Serialization.Json.Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static (string Type, JsonElement Json) Encode(object command) =>
        Types.TryGetValue(command.GetType().Name, out var type) && type == command.GetType()
            ? (type.Name, JsonSerializer.SerializeToElement(command, type, Serialization.Json.Options))
            : throw new ArgumentException($"{command.GetType().Name} is not a domain command.", nameof(command));

    public static object Decode(string type, JsonElement json) =>
        Types.TryGetValue(type, out var t)
            ? JsonSerializer.Deserialize(json, t, Strict) ?? throw new JsonException("Empty command.")
            : throw new JsonException($"Unknown command type '{type}'.");
}
