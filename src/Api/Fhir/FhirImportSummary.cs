using System.Text.Json;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// An import's answer (<see cref="FhirImportAnswer"/>) summed up, for whoever sends bundles and reports on them (the
/// <c>import</c> verb, the benchmark, the tests): the patient, whether this import registered them, the resources by
/// what became of them, the imported resources by type, the skipped ones by label (type and reason), and the hashes of
/// the endorsed transactions it appended.
/// </summary>
public sealed record FhirImportSummary(
    Guid PatientId, bool Registered, int Added, int AlreadyPresent, int Corrected, int Replaced, int KeptRetracted,
    IReadOnlyDictionary<string, int> ImportedByType, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Transactions)
{
    /// <summary>Resources on the record after the import (whatever became of them), Coverage included.</summary>
    public int Resources => ImportedByType.Values.Sum();

    /// <summary>The summary of a transaction-response or batch-response from POST /fhir; throws <see cref="FormatException"/> when it is not one.</summary>
    public static FhirImportSummary Read(JsonElement bundle)
    {
        if (Text(bundle, "resourceType") != "Bundle" || Text(bundle, "type") is not ("transaction-response" or "batch-response")
            || !bundle.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
            throw new FormatException("The answer is not a transaction-response Bundle.");
        Guid? patientId = null;
        var registered = false;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var imported = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var transactions = new List<string>();
        foreach (var entry in entries.EnumerateArray())
        {
            if (!entry.TryGetProperty("response", out var response)) continue;
            var location = Text(response, "location");
            var issue = response.TryGetProperty("outcome", out var outcome) && outcome.TryGetProperty("issue", out var issues)
                        && issues.ValueKind == JsonValueKind.Array && issues.GetArrayLength() > 0 ? issues[0] : default;
            var code = issue.ValueKind == JsonValueKind.Object && issue.TryGetProperty("details", out var details)
                       && details.TryGetProperty("coding", out var coding) && coding.ValueKind == JsonValueKind.Array
                ? coding.EnumerateArray().Where(c => Text(c, "system") == FhirImportAnswer.OutcomeSystem).Select(c => Text(c, "code")).FirstOrDefault()
                : null;
            counts[code ?? ""] = counts.GetValueOrDefault(code ?? "") + 1;
            if (code is "registered" or "already-registered")
            {
                registered = code == "registered";
                patientId = location is ['P', 'a', 't', 'i', 'e', 'n', 't', '/', .. var id] && Guid.TryParse(id, out var g) ? g : null;
                if (outcome.TryGetProperty("extension", out var extensions) && extensions.ValueKind == JsonValueKind.Array)
                    foreach (var part in extensions.EnumerateArray().Where(x => Text(x, "url") == FhirImportAnswer.SummaryExtension)
                                 .SelectMany(x => x.TryGetProperty("extension", out var p) && p.ValueKind == JsonValueKind.Array ? p.EnumerateArray().ToList() : []))
                        if (Text(part, "url") == "transaction" && Text(part, "valueString") is { } hash) transactions.Add(hash);
            }
            else if (code == "skipped")
                Add(skipped, Text(issue, "diagnostics") ?? "(no reason)");
            else if (code is "insurance-linked" or "insurance-already-linked")
                Add(imported, "Coverage");
            else if (location?.Split('/') is [var type, _])
                Add(imported, type);
        }
        return new(patientId ?? throw new FormatException("The answer names no Patient."), registered,
            counts.GetValueOrDefault("added"), counts.GetValueOrDefault("already-present"), counts.GetValueOrDefault("corrected"),
            counts.GetValueOrDefault("replaced"), counts.GetValueOrDefault("kept-retracted"), imported, skipped, transactions);
    }

    private static void Add(SortedDictionary<string, int> into, string key) => into[key] = into.GetValueOrDefault(key) + 1;

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
