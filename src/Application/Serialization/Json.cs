using System.Text.Json;
using System.Text.Json.Serialization;

namespace HealthEvents.Application.Serialization;

/// <summary>The one JSON shape of stored events, metadata and the API: camelCase, enums as kebab-case strings.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions());

    /// <summary>
    /// <see cref="Options"/> for reading stored events and metadata: a constructor parameter without a default must be
    /// present and a non-nullable reference member must not be null, else the read fails (JsonException) — without
    /// this a positional record read from <c>{"garbage":true}</c> is an event full of nulls that fails later, somewhere.
    /// </summary>
    public static readonly JsonSerializerOptions Strict = new(Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DictionaryKeyPolicy = JsonNamingPolicy.CamelCase;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false));
        return options;
    }
}
