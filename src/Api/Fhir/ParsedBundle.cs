using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace HealthEvents.Api.Fhir;

/// <summary>A bundle refused before anything is decided: the OperationOutcome's issues (our own texts, values masked).</summary>
public sealed class BundleException(IReadOnlyList<FhirIssue> issues) : Exception(issues[0].Diagnostics)
{
    public BundleException(string issueCode, string message, params string[] expression)
        : this([new FhirIssue("error", issueCode, message, expression.Length > 0 ? expression : null)]) { }

    public IReadOnlyList<FhirIssue> Issues { get; } = issues;
}

/// <summary>
/// A FHIR R4 Bundle read twice over the same text, each for what only it gives: the Firely SDK's model (strict: types,
/// cardinalities, value formats) for mapping and profile validation, and a <see cref="JsonDocument"/> for each resource's
/// exact text, which is what is sealed and served back. Both refuse a property named twice, so they cannot read the
/// same text differently; the entry counts must agree too. Every refusal names where (FHIRPath, in the issue's
/// <c>expression</c>), never a value.
/// </summary>
public sealed record ParsedBundle(Bundle Model, JsonElement RawEntries)
{
    /// <summary>At most this many of the parser's errors are listed in a refusal.</summary>
    public const int MaxIssues = 100;

    /// <summary>The bundle in <paramref name="json"/>, or a <see cref="BundleException"/> saying what is wrong and where.</summary>
    public static ParsedBundle Parse(string json)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BundleException("structure", $"The body is not JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).",
                [.. ExpressionOf(e.Path)]);
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw new BundleException("structure", "The body must be a FHIR resource: a JSON object, not an array, string, number or null.");
        if (!root.TryGetProperty("resourceType", out var type) || type.ValueKind != JsonValueKind.String || type.ValueEquals("Bundle") is false)
            throw new BundleException("structure", "The body must be a FHIR Bundle (resourceType \"Bundle\").", "resourceType");
        FhirRawChecks.Check(root, "Bundle");

        Bundle bundle;
        try
        {
            bundle = new FhirJsonDeserializer().Deserialize<Bundle>(json);
        }
        catch (DeserializationFailedException e)
        {
            // Firely's messages quote values from the bundle: masked, with the element's path beside them.
            throw new BundleException([.. e.Exceptions.Take(MaxIssues).Select(x => new FhirIssue("error", "structure",
                FhirValidation.Mask((x as ExtendedCodedException)?.BaseErrorMessage ?? "The element is not valid FHIR R4 JSON."),
                (x as ExtendedCodedException)?.InstancePath is { Length: > 0 } path ? [path] : null, x.ErrorCode))]);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException or InvalidCastException)
        {
            throw new BundleException("structure", "The body is not a valid FHIR R4 Bundle in JSON.");
        }
        if (bundle.Type is not (Bundle.BundleType.Transaction or Bundle.BundleType.Batch or Bundle.BundleType.Collection))
            throw new BundleException("not-supported", "Only transaction, batch or collection bundles are imported.", "Bundle.type");
        var rawEntries = root.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array ? entries : default;
        if ((rawEntries.ValueKind == JsonValueKind.Array ? rawEntries.GetArrayLength() : 0) != bundle.Entry.Count)
            throw new BundleException("structure", "The bundle's entries could not be read.", "Bundle.entry");
        return new(bundle, rawEntries);
    }

    /// <summary>System.Text.Json's JSONPath of a fault (<c>$.entry[0].resource</c>) as FHIRPath (<c>Bundle.entry[0].resource</c>).</summary>
    private static IEnumerable<string> ExpressionOf(string? jsonPath) =>
        jsonPath is { Length: > 1 } p && p.StartsWith("$.", StringComparison.Ordinal) ? ["Bundle" + p[1..]] : [];
}
