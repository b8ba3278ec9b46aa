using System.Text.Json;
using Hl7.Fhir.Model;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// Every resource of a bundle is about its one Patient: a <c>subject</c>, <c>patient</c> or <c>beneficiary</c> reference
/// (FHIR R4 references.html) that names anyone or anything else refuses the bundle whole — filed under this patient, it
/// would put someone else's record on their trail. What names the bundle's Patient: its fullUrl; <c>Patient/{id}</c>
/// with its id; a conditional reference <c>Patient?identifier=system|value</c> or a logical reference (<c>identifier</c>)
/// with one of its identifiers. A reference with neither (display only) names no one and is let be.
/// </summary>
public static class FhirPatientReferences
{
    private static readonly string[] Properties = ["subject", "patient", "beneficiary"];

    /// <summary>Throws <see cref="BundleException"/> naming the first entry that is about someone else (never the reference's value).</summary>
    public static void Check(JsonElement rawEntries, int patientIndex, Patient patient, string? patientFullUrl)
    {
        var index = 0;
        foreach (var entry in rawEntries.EnumerateArray())
        {
            var i = index++;
            if (i == patientIndex || !entry.TryGetProperty("resource", out var resource) || resource.ValueKind != JsonValueKind.Object) continue;
            foreach (var name in Properties)
            {
                if (!resource.TryGetProperty(name, out var value)) continue;
                var references = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
                for (var r = 0; r < references.Count; r++)
                    if (!NamesThePatient(references[r], patient, patientFullUrl))
                        throw new BundleException("invalid",
                            $"Bundle.entry[{i}] is about someone other than the bundle's Patient (Bundle.entry[{patientIndex}]): its {name} must reference that Patient; nothing was imported.",
                            $"Bundle.entry[{i}].resource.{name}" + (value.ValueKind == JsonValueKind.Array ? $"[{r}]" : ""));
            }
        }
    }

    private static bool NamesThePatient(JsonElement reference, Patient patient, string? fullUrl)
    {
        if (reference.ValueKind != JsonValueKind.Object) return true; // not a Reference: the validator judges its shape
        if (reference.TryGetProperty("reference", out var literal) && literal.ValueKind == JsonValueKind.String)
        {
            var target = literal.GetString()!;
            if (fullUrl is not null && target == fullUrl) return true;
            if (patient.Id is { Length: > 0 } id && target == $"Patient/{id}") return true;
            const string conditional = "Patient?identifier=";
            return target.StartsWith(conditional, StringComparison.Ordinal)
                   && Uri.UnescapeDataString(target[conditional.Length..]).Split('|') is [var system, var value]
                   && HasIdentifier(patient, system, value);
        }
        if (reference.TryGetProperty("identifier", out var identifier) && identifier.ValueKind == JsonValueKind.Object)
            return identifier.TryGetProperty("system", out var s) && s.ValueKind == JsonValueKind.String
                   && identifier.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String
                   && HasIdentifier(patient, s.GetString()!, v.GetString()!);
        return true;
    }

    private static bool HasIdentifier(Patient patient, string system, string value) =>
        patient.Identifier.Any(i => i.System == system && i.Value == value);
}
