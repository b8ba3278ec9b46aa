using System.Globalization;
using System.Text.Json;
using Hl7.Fhir.Model;
using Category = HealthEvents.Domain.Common.Category;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// Which record category a FHIR R4 resource lands in by its type, and which concept is its code. Sensitive content is
/// decided after this, over the whole resource (<see cref="FhirSensitivity"/>), and overrides the type's category.
/// </summary>
public static class FhirCategories
{
    /// <summary>Every category an import can fill: what <c>$everything</c> asks to be released.</summary>
    public static readonly IReadOnlyList<Category> Imported =
    [
        Category.Conditions, Category.Allergies, Category.Medications, Category.Vaccinations, Category.Procedures,
        Category.LabResults, Category.VitalSigns, Category.Imaging, Category.Surveys,
        Category.MentalHealth, Category.SexualHealth, Category.Genetics,
    ];

    /// <summary>Why resources of a type are not imported, when the type alone does not say it (the transaction-response's outcome).</summary>
    private static readonly Dictionary<string, string> Reasons = new(StringComparer.Ordinal)
    {
        // An insurer's papers (amounts, diagnoses repeated for billing), not the clinical record; the insurance itself
        // comes from a Coverage when the bundle has one.
        ["Claim"] = "Claim (billing, not the clinical record)",
        ["ExplanationOfBenefit"] = "ExplanationOfBenefit (billing, not the clinical record)",
    };

    /// <summary>The label a skipped resource is reported under: its type, with the reason when there is one.</summary>
    public static string SkippedLabel(string type) => Reasons.GetValueOrDefault(type, type);

    /// <summary>
    /// The category of a resource by its type and the concept that is its code; no category: skipped, with the label.
    /// <paramref name="medication"/> resolves a medicationReference (a contained Medication, <c>#id</c>, or one in the bundle).
    /// </summary>
    public static (Category? Category, CodeableConcept? Concept, string? Label) Map(Resource resource, Func<DomainResource, ResourceReference, Medication?> medication) => resource switch
    {
        Condition c => (Category.Conditions, c.Code, null),
        AllergyIntolerance a => (Category.Allergies, a.Code, null),
        MedicationRequest m => (Category.Medications, MedicationCode(m, m.Medication, medication), null),
        MedicationStatement m => (Category.Medications, MedicationCode(m, m.Medication, medication), null),
        Immunization i => (Category.Vaccinations, i.VaccineCode, null),
        Procedure p => (Category.Procedures, p.Code, null),
        Observation o => ObservationCategory(o) switch
        {
            "laboratory" => (Category.LabResults, o.Code, null),
            "vital-signs" => (Category.VitalSigns, o.Code, null),
            "imaging" => (Category.Imaging, o.Code, null),
            // Questionnaires and screenings: a category of their own, sensitive (see Category.Surveys); the mental-health
            // instruments among them (PHQ-9, GAD-7, AUDIT…) are filed under mental-health by their codes.
            "survey" => (Category.Surveys, o.Code, null),
            var other => (null, null, $"Observation ({other ?? "no category"})"),
        },
        DiagnosticReport d => (DiagnosticCategory(d), d.Code, null),
        ImagingStudy s => (Category.Imaging, s.ProcedureCode.FirstOrDefault()
            ?? (s.Series.FirstOrDefault()?.Modality is { } modality ? new CodeableConcept { Coding = [modality] } : null), null),
        _ => (null, null, SkippedLabel(resource.TypeName)),
    };

    /// <summary>By its category: HL7 v2 table 0074 GE (genetics) or RAD (radiology), else laboratory.</summary>
    private static Category DiagnosticCategory(DiagnosticReport d)
    {
        var codes = d.Category.SelectMany(x => x.Coding).Select(x => x.Code).ToList();
        return codes.Contains("GE") ? Category.Genetics
            : codes.Any(c => c is "RAD" or "imaging" or "radiology") ? Category.Imaging
            : Category.LabResults;
    }

    /// <summary>A medication's code: its CodeableConcept, or the code of the Medication its reference names.</summary>
    private static CodeableConcept? MedicationCode(DomainResource owner, DataType? medication, Func<DomainResource, ResourceReference, Medication?> resolve) =>
        medication switch
        {
            CodeableConcept concept => concept,
            ResourceReference reference => resolve(owner, reference)?.Code,
            _ => null,
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
