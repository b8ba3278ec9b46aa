using System.Globalization;
using System.Text.Json;
using Hl7.Fhir.Model;
using Category = HealthEvents.Domain.Common.Category;

namespace HealthEvents.Api.Fhir;

/// <summary>Which record category a FHIR R4 resource lands in, and which of its codings is the entry's code.</summary>
public static class FhirCategories
{
    /// <summary>Every category an import can fill: what <c>$everything</c> asks to be released.</summary>
    public static readonly IReadOnlyList<Category> Imported =
    [
        Category.Conditions, Category.Allergies, Category.Medications, Category.Vaccinations, Category.Procedures,
        Category.LabResults, Category.VitalSigns, Category.Imaging,
    ];

    /// <summary>Why resources of a type are not imported, when the type alone does not say it (shown in the answer's <c>skipped</c>).</summary>
    private static readonly Dictionary<string, string> Reasons = new(StringComparer.Ordinal)
    {
        // An insurer's papers (amounts, diagnoses repeated for billing), not the clinical record; insurance validity is
        // the insurance link's (PUT /patients/{id}/insurance), which a hospital admin sets.
        ["Claim"] = "Claim (billing, not the clinical record)",
        ["ExplanationOfBenefit"] = "ExplanationOfBenefit (billing, not the clinical record)",
        ["Coverage"] = "Coverage (insurance is linked by a hospital admin: PUT /patients/{id}/insurance)",
    };

    /// <summary>The label a skipped resource is reported under: its type, with the reason when there is one.</summary>
    public static string SkippedLabel(string type) => Reasons.GetValueOrDefault(type, type);

    /// <summary>The category of a resource and the concept whose first coding is its code; no category: skipped, with the label.</summary>
    public static (Category? Category, CodeableConcept? Concept, string? Label) Map(Resource resource) => resource switch
    {
        Condition c => (Category.Conditions, c.Code, null),
        AllergyIntolerance a => (Category.Allergies, a.Code, null),
        MedicationRequest m => (Category.Medications, m.Medication as CodeableConcept, null),
        MedicationStatement m => (Category.Medications, m.Medication as CodeableConcept, null),
        Immunization i => (Category.Vaccinations, i.VaccineCode, null),
        Procedure p => (Category.Procedures, p.Code, null),
        Observation o => ObservationCategory(o) switch
        {
            "laboratory" => (Category.LabResults, o.Code, null),
            "vital-signs" => (Category.VitalSigns, o.Code, null),
            "imaging" => (Category.Imaging, o.Code, null),
            // Surveys, social history, exams…: some (a PHQ-9) would be sensitive, which nothing here can tell; kept out.
            var other => (null, null, $"Observation ({other ?? "no category"})"),
        },
        DiagnosticReport d => (d.Category.SelectMany(x => x.Coding).Any(x => x.Code is "RAD" or "imaging" or "radiology")
            ? Category.Imaging : Category.LabResults, d.Code, null),
        ImagingStudy s => (Category.Imaging, s.ProcedureCode.FirstOrDefault()
            ?? (s.Series.FirstOrDefault()?.Modality is { } modality ? new CodeableConcept { Coding = [modality] } : null), null),
        _ => (null, null, SkippedLabel(resource.TypeName)),
    };

    private static string? ObservationCategory(Observation o) =>
        o.Category.SelectMany(c => c.Coding)
            .FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/observation-category")?.Code
        ?? o.Category.SelectMany(c => c.Coding).FirstOrDefault()?.Code;

    private static readonly string[] DateProperties =
        ["effectiveDateTime", "onsetDateTime", "authoredOn", "occurrenceDateTime", "performedDateTime", "recordedDate", "issued", "started", "dateAsserted"];

    /// <summary>When the resource says the fact happened (its first clinical date), or null: the import's time is used then.</summary>
    public static DateTimeOffset? RecordedAt(JsonElement resource)
    {
        if (resource.ValueKind != JsonValueKind.Object) return null;
        foreach (var name in DateProperties)
            if (resource.TryGetProperty(name, out var value) && Parse(value) is { } at)
                return at;
        foreach (var name in (string[])["effectivePeriod", "performedPeriod"])
            if (resource.TryGetProperty(name, out var period) && period.ValueKind == JsonValueKind.Object
                && period.TryGetProperty("start", out var start) && Parse(start) is { } at)
                return at;
        return null;
    }

    private static DateTimeOffset? Parse(JsonElement value) =>
        value.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;
}
