using System.Text.Json;
using System.Text.RegularExpressions;

namespace HealthEvents.Api.Verbs.Import;

/// <summary>
/// What the service answered for one bundle it imported, read from either answer POST /fhir may give: the import
/// summary earlier versions of the service answered (patientId, registered, added, alreadyPresent, imported,
/// skipped) or a FHIR transaction-response / batch-response Bundle (FHIR R4 http.html#transaction-response: entry i
/// answers the request's entry i, with <c>response.status</c> "201 Created" for what it created, "200 OK" for what it
/// already held, 4xx for what it did not take, and <c>response.location</c> "Type/id[/_history/v]"; the Patient entry's
/// location gives the patient id). When an entry's <c>response.outcome</c> names what became of it (the service's
/// import-outcome codes: registered, added, replaced, corrected, already-present, kept-retracted, insurance-linked,
/// skipped…), that is what counts; otherwise its status does.
/// </summary>
/// <param name="PatientId">The patient the bundle registered or added to (the id the hospital uses on every route); null if the answer names none.</param>
/// <param name="Registered">Whether this bundle registered the patient (false: already registered).</param>
/// <param name="Added">Resources added to the record (replacements of an entry included).</param>
/// <param name="AlreadyPresent">Resources the record held already, unchanged.</param>
/// <param name="Corrected">Resources whose entry on the record was corrected (amended) to the content sent.</param>
/// <param name="Imported">Resources on the record after the import, by type.</param>
/// <param name="Skipped">Resources not imported, by type (or type and reason).</param>
public sealed partial record ImportAnswer(
    string? PatientId, bool Registered, int Added, int AlreadyPresent, int Corrected,
    IReadOnlyDictionary<string, int> Imported, IReadOnlyDictionary<string, int> Skipped)
{
    /// <summary>The answer in <paramref name="json"/> to the bundle <paramref name="sent"/>, or null when it is neither a summary nor a response Bundle.</summary>
    public static ImportAnswer? Read(string json, byte[] sent)
    {
        try
        {
            var root = JsonDocument.Parse(json).RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (Text(root, "resourceType") == "Bundle")
                return Text(root, "type") is "transaction-response" or "batch-response" ? FromBundle(root, RequestTypes(sent)) : null;
            return root.TryGetProperty("registered", out _) ? FromSummary(root) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null; // a property of another type than the contract's: not an answer this client reads
        }
    }

    private static ImportAnswer FromSummary(JsonElement s) => new(
        Text(s, "patientId"), s.GetProperty("registered").GetBoolean(), Number(s, "added"), Number(s, "alreadyPresent"), 0,
        Counts(s, "imported"), Counts(s, "skipped"));

    private static ImportAnswer FromBundle(JsonElement bundle, IReadOnlyList<string?> requestTypes)
    {
        string? patientId = null;
        bool registered = false;
        int added = 0, present = 0, corrected = 0;
        var imported = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var index = -1;
        foreach (var entry in bundle.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array ? entries.EnumerateArray() : default)
        {
            index++;
            if (!entry.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object) continue;
            var status = StatusCode(Text(response, "status"));
            var location = Text(response, "location") is { } l ? Location().Match(l) : null;
            var type = location is { Success: true } ? location.Groups["type"].Value
                : index < requestTypes.Count && requestTypes[index] is { } sentType ? sentType : "(unnamed)";
            var issues = response.TryGetProperty("outcome", out var outcome) ? OperationOutcome.Issues(outcome) : [];
            var became = OutcomeCode(outcome);
            if (type == "Patient" || became is "registered" or "already-registered")
            {
                if (location is { Success: true }) patientId = location.Groups["id"].Value;
                registered = became is not null ? became == "registered" : status == 201;
            }
            else if (became == "skipped" || status is < 200 or >= 300)
            {
                // The service's reason already names the type ("Claim (billing, …)"); a bare FHIR server's may not.
                var reason = issues.FirstOrDefault()?.Diagnostics;
                var label = reason is null ? type : reason.StartsWith(type, StringComparison.Ordinal) ? reason : $"{type} ({reason})";
                skipped[label] = skipped.GetValueOrDefault(label) + 1;
            }
            else
            {
                if (became is "insurance-linked" or "insurance-already-linked") type = "Coverage";
                else if (became is "corrected") corrected++;
                else if (became is "added" or "replaced" || became is null && status == 201) added++;
                else present++; // already-present, kept-retracted, or a bare 200
                imported[type] = imported.GetValueOrDefault(type) + 1;
            }
        }
        return new(patientId, registered, added, present, corrected, imported, skipped);
    }

    /// <summary>The resource type of each entry of the bundle sent, in order (null where it names none).</summary>
    private static IReadOnlyList<string?> RequestTypes(byte[] sent)
    {
        try
        {
            var root = JsonDocument.Parse(sent).RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array
                ? [.. entries.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("resource", out var r) ? Text(r, "resourceType") : null)]
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>
    /// What became of an entry, when its outcome's first issue says so: a code of the service's import-outcome system
    /// (<c>…/import-outcome</c> in <c>details.coding</c>).
    /// </summary>
    private static string? OutcomeCode(JsonElement outcome) =>
        outcome.ValueKind == JsonValueKind.Object && outcome.TryGetProperty("issue", out var issues) && issues.ValueKind == JsonValueKind.Array
        && issues.GetArrayLength() > 0 && issues[0].ValueKind == JsonValueKind.Object && issues[0].TryGetProperty("details", out var details)
        && details.ValueKind == JsonValueKind.Object && details.TryGetProperty("coding", out var coding) && coding.ValueKind == JsonValueKind.Array
            ? coding.EnumerateArray().Where(c => Text(c, "system")?.EndsWith("/import-outcome", StringComparison.Ordinal) == true)
                .Select(c => Text(c, "code")).FirstOrDefault()
            : null;

    /// <summary>"201 Created" → 201; anything else → 0.</summary>
    private static int StatusCode(string? status) =>
        status is { Length: >= 3 } && int.TryParse(status.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : 0;

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
