using System.Text.Json;
using System.Text.RegularExpressions;

namespace HealthEvents.Api.Verbs.Import;

/// <summary>
/// What the service answered for one bundle it imported, read from either answer POST /fhir may give: the import
/// summary (<see cref="Endpoints.FhirEndpoints.ImportSummary"/>: patientId, registered, added, alreadyPresent, imported,
/// skipped) or a FHIR transaction-response / batch-response Bundle (FHIR R4 http.html#transaction-response: one entry per
/// request entry, each with <c>response.status</c> "201 Created" for what it created, "200 OK" for what it already held,
/// and <c>response.location</c> "Type/id[/_history/v]"; the Patient entry's location gives the patient id).
/// </summary>
/// <param name="PatientId">The patient the bundle registered or added to (the id the hospital uses on every route); null if the answer names none.</param>
/// <param name="Registered">Whether this bundle registered the patient (false: already registered).</param>
/// <param name="Imported">Resources imported, by type.</param>
/// <param name="Skipped">Resources not imported, by type (or type and reason).</param>
public sealed partial record ImportAnswer(
    string? PatientId, bool Registered, int Added, int AlreadyPresent,
    IReadOnlyDictionary<string, int> Imported, IReadOnlyDictionary<string, int> Skipped)
{
    /// <summary>The answer in <paramref name="json"/>, or null when it is neither a summary nor a response Bundle.</summary>
    public static ImportAnswer? Read(string json)
    {
        try
        {
            var root = JsonDocument.Parse(json).RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (Text(root, "resourceType") == "Bundle") return Text(root, "type") is "transaction-response" or "batch-response" ? FromBundle(root) : null;
            return root.TryGetProperty("registered", out _) ? FromSummary(root) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null; // a property of another type than the contract's: not an answer this client reads
        }
    }

    private static ImportAnswer FromSummary(JsonElement s) => new(
        Text(s, "patientId"), s.GetProperty("registered").GetBoolean(), Number(s, "added"), Number(s, "alreadyPresent"),
        Counts(s, "imported"), Counts(s, "skipped"));

    private static ImportAnswer FromBundle(JsonElement bundle)
    {
        string? patientId = null;
        bool registered = false;
        int added = 0, present = 0;
        var imported = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in bundle.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array ? entries.EnumerateArray() : default)
        {
            if (!entry.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object) continue;
            var status = StatusCode(Text(response, "status"));
            var location = Text(response, "location") is { } l ? Location().Match(l) : null;
            var type = location is { Success: true } ? location.Groups["type"].Value
                : entry.TryGetProperty("resource", out var resource) && Text(resource, "resourceType") is { } t ? t : "(unnamed)";
            if (type == "Patient" && location is { Success: true })
            {
                patientId = location.Groups["id"].Value;
                registered = status == 201;
            }
            else if (status is >= 200 and < 300)
            {
                if (status == 201) added++; else present++;
                imported[type] = imported.GetValueOrDefault(type) + 1;
            }
            else
            {
                var label = Reason(response) is { } reason ? $"{type} ({reason})" : type;
                skipped[label] = skipped.GetValueOrDefault(label) + 1;
            }
        }
        return new(patientId, registered, added, present, imported, skipped);
    }

    /// <summary>"201 Created" → 201; anything else → 0.</summary>
    private static int StatusCode(string? status) =>
        status is { Length: >= 3 } && int.TryParse(status.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : 0;

    /// <summary>The first diagnostics of an entry's response.outcome, when it has one.</summary>
    private static string? Reason(JsonElement response) =>
        response.TryGetProperty("outcome", out var outcome) ? OperationOutcome.Issues(outcome).FirstOrDefault()?.Diagnostics : null;

    private static IReadOnlyDictionary<string, int> Counts(JsonElement s, string property)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        if (s.TryGetProperty(property, out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var c in list.EnumerateArray())
                if (Text(c, "type") is { } type) counts[type] = counts.GetValueOrDefault(type) + Number(c, "count");
        return counts;
    }

    internal static string? Text(JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int Number(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;

    /// <summary>"Type/id", "Type/id/_history/v", or the same at the end of an absolute URL (FHIR R4 http.html#create).</summary>
    [GeneratedRegex(@"(?:^|/)(?<type>[A-Z][A-Za-z]+)/(?<id>[A-Za-z0-9\-\.]{1,64})(?:/_history/[^/]+)?/?$")]
    private static partial Regex Location();
}
