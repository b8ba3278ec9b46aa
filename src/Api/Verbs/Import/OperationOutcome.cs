using System.Text.Json;

namespace HealthEvents.Api.Verbs.Import;

/// <summary>
/// Reads the issues of a FHIR R4 OperationOutcome (operationoutcome.html), the form every refusal on /fhir takes: each
/// issue's severity, code, diagnostics and FHIRPath expressions. The service's texts are its own and never quote the
/// bundle, so they can be shown as they are.
/// </summary>
public static class OperationOutcome
{
    /// <param name="Expression">Where in the bundle, as FHIRPath (e.g. <c>Bundle.entry[3].resource[0].code[0]</c>); may be empty.</param>
    public sealed record Issue(string Severity, string Code, string Diagnostics, IReadOnlyList<string> Expression)
    {
        /// <summary>"error invalid: text (at Bundle.entry[3]...)".</summary>
        public override string ToString() =>
            $"{Severity} {Code}: {Diagnostics}" + (Expression.Count > 0 ? $" (at {string.Join(", ", Expression)})" : "");
    }

    /// <summary>The issues of an answer's body: an OperationOutcome's, else an RFC 9457 problem's title and detail, else none.</summary>
    public static IReadOnlyList<Issue> Issues(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (ImportAnswer.Text(root, "resourceType") == "OperationOutcome") return Issues(root);
            if (ImportAnswer.Text(root, "title") is { } title)
                return [new Issue("error", ImportAnswer.Text(root, "code") ?? "problem", ImportAnswer.Text(root, "detail") is { } d ? $"{title}: {d}" : title, [])];
        }
        catch (JsonException) { }
        return [];
    }

    /// <summary>Every issue of <paramref name="outcome"/>, in order.</summary>
    public static IReadOnlyList<Issue> Issues(JsonElement outcome)
    {
        if (outcome.ValueKind != JsonValueKind.Object || !outcome.TryGetProperty("issue", out var issues) || issues.ValueKind != JsonValueKind.Array) return [];
        return
        [
            .. issues.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object).Select(i => new Issue(
                ImportAnswer.Text(i, "severity") ?? "error",
                ImportAnswer.Text(i, "code") ?? "unknown",
                ImportAnswer.Text(i, "diagnostics") ?? (i.TryGetProperty("details", out var details) ? ImportAnswer.Text(details, "text") : null) ?? "(no text)",
                i.TryGetProperty("expression", out var e) && e.ValueKind == JsonValueKind.Array
                    ? [.. e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)]
                    : [])),
        ];
    }
}
