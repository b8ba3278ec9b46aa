using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentValidation;
using HealthEvents.Api.Auth;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Category = HealthEvents.Domain.Common.Category;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// FHIR in: POST /fhir takes a FHIR R4 transaction Bundle holding one Patient and their record, parsed with the Firely
/// SDK. The Patient becomes the registration, each clinical resource an entry (its exact JSON sealed as the content, its
/// first coding the code); resource types without a category here are skipped and reported. Errors are OperationOutcomes.
/// </summary>
public static class FhirEndpoints
{
    /// <summary>The FHIR route's own body limit: a patient's history is larger than any other request.</summary>
    public const long MaxBundleBytes = 8 * 1024 * 1024;

    /// <summary>A resource larger than this would not fit one append once sealed; it is skipped and reported.</summary>
    public const int MaxResourceChars = 256 * 1024;

    public static IEndpointRouteBuilder MapFhirEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/fhir", Import).WithTags("FHIR").RequireAuthorization()
            .WithMetadata(new RequestSizeLimitAttribute(MaxBundleBytes));
        return app;
    }

    public sealed record ImportSummary(
        Guid PatientId, bool Registered, int Resources, int Added, int AlreadyPresent, IReadOnlyList<SkippedResources> Skipped,
        IReadOnlyList<Receipt> Receipts);

    /// <summary>Resources not imported: their type (with the reason when the type itself is mapped), and how many.</summary>
    public sealed record SkippedResources(string Type, int Count);

    public static async Task<IResult> Import(HttpContext http, IMediator mediator, CancellationToken ct)
    {
        try
        {
            var mediaType = http.Request.ContentType is { } type ? type.Split(';')[0].Trim() : null;
            if (mediaType is not ("application/fhir+json" or "application/json"))
                return Outcome(StatusCodes.Status415UnsupportedMediaType, "not-supported", "The body must be a FHIR R4 Bundle in JSON (application/fhir+json).");
            string json;
            using (var reader = new StreamReader(http.Request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true)))
                json = await reader.ReadToEndAsync(ct);
            var plan = Plan(json, http.Actor().Hospital);
            var result = await mediator.Send(new ImportPatientRecordCommand(plan.PatientId, plan.Registration, plan.Entries, http.Command()), ct);
            return TypedResults.Ok(new ImportSummary(result.PatientId, result.Registered, plan.Entries.Count, result.Added, result.AlreadyPresent,
                plan.Skipped.Select(p => new SkippedResources(p.Key, p.Value)).ToList(), result.Receipts));
        }
        catch (BundleException e) { return Outcome(400, e.IssueCode, e.Message); }
        catch (DecoderFallbackException) { return Outcome(400, "invalid", "The body is not UTF-8."); }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return Outcome(413, "too-long", $"The bundle exceeds the FHIR route's limit of {MaxBundleBytes / (1024 * 1024)} MiB.");
        }
        catch (RejectedException e)
        {
            var r = e.Rejection;
            var (status, code) = r.Kind switch
            {
                RejectionKind.Invalid => (400, "business-rule"),
                RejectionKind.Forbidden => (403, "forbidden"),
                RejectionKind.NotFound => (404, "not-found"),
                _ => (409, "conflict"),
            };
            return Outcome(status, code, r.Message, r.Code);
        }
        catch (ValidationException e)
        {
            return Outcome(400, "invalid", string.Join(" ", e.Errors.Select(x => x.ErrorMessage).Distinct()));
        }
    }

    /// <summary>An OperationOutcome with one error issue (our own texts only: never the bundle's content).</summary>
    public static IResult Outcome(int status, string issueCode, string message, string? detailCode = null)
    {
        var issue = new JsonObject { ["severity"] = "error", ["code"] = issueCode, ["diagnostics"] = message };
        if (detailCode is not null)
            issue["details"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = "https://healthevents.example/problems", ["code"] = detailCode }),
            };
        var outcome = new JsonObject { ["resourceType"] = "OperationOutcome", ["issue"] = new JsonArray(issue) };
        return Results.Text(outcome.ToJsonString(), FhirVocabulary.ContentType, Encoding.UTF8, status);
    }

    private sealed class BundleException(string issueCode, string message) : Exception(message)
    {
        public string IssueCode { get; } = issueCode;
    }

    public sealed record ImportPlan(
        Guid PatientId, ImportRegistration Registration, IReadOnlyList<ImportEntryInput> Entries, IReadOnlyDictionary<string, int> Skipped);

    /// <summary>The bundle read whole: any fault refuses it before anything is decided.</summary>
    public static ImportPlan Plan(string json, string hospital)
    {
        Bundle bundle;
        JsonElement rawEntries;
        try
        {
            bundle = new FhirJsonDeserializer().Deserialize<Bundle>(json);
            using var document = JsonDocument.Parse(json);
            rawEntries = document.RootElement.TryGetProperty("entry", out var e) && e.ValueKind == JsonValueKind.Array
                ? e.Clone()
                : JsonDocument.Parse("[]").RootElement.Clone();
        }
        catch (Exception e) when (e is DeserializationFailedException or JsonException or FormatException or InvalidCastException)
        {
            // Firely's messages quote values from the bundle: the kind of fault only.
            throw new BundleException("structure", "The body is not a valid FHIR R4 Bundle in JSON.");
        }
        if (bundle.Type is not (Bundle.BundleType.Transaction or Bundle.BundleType.Batch or Bundle.BundleType.Collection))
            throw new BundleException("not-supported", "Only transaction, batch or collection bundles are imported.");
        if (rawEntries.GetArrayLength() != bundle.Entry.Count)
            throw new BundleException("structure", "The bundle's entries could not be read.");

        var patients = bundle.Entry.Where(e => e.Resource is Patient).ToList();
        if (patients.Count != 1)
            throw new BundleException("invalid", "The bundle must hold exactly one Patient.");
        var patientEntry = patients[0];
        var patient = (Patient)patientEntry.Resource!;
        var patientId = DeterministicIds.Named("fhir-patient|" + PatientIdentity(patient, patientEntry.FullUrl));
        var registration = Registration(patient, hospital);

        var entries = new List<ImportEntryInput>();
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Skip(string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            if (entry.Resource is null) { Skip("(no resource)"); continue; }
            if (entry.Resource is Patient) continue;
            var type = entry.Resource.TypeName;
            var (category, concept, label) = Map(entry.Resource);
            if (category is not { } c) { Skip(label ?? type); continue; }
            var coding = concept?.Coding.FirstOrDefault(x => !string.IsNullOrWhiteSpace(x.System) && !string.IsNullOrWhiteSpace(x.Code));
            if (coding is null) { Skip($"{type} (no coding)"); continue; }
            if (coding.System!.Length > 200 || coding.Code!.Length > 100) { Skip($"{type} (code too long)"); continue; }
            var raw = rawEntries[i].TryGetProperty("resource", out var r) ? r.GetRawText() : null;
            if (raw is null) { Skip("(no resource)"); continue; }
            if (raw.Length > MaxResourceChars) { Skip($"{type} (too large)"); continue; }
            // A bundle's fullUrl and ids are often the sender's temporary names: with the content's hash beside them,
            // the same resource sent again is the same entry (a no-op), while another resource under the same name is
            // an entry of its own, never silently counted as "already present".
            var identity = (entry.FullUrl is { Length: > 0 } url ? url : entry.Resource.Id is { Length: > 0 } id ? $"{type}/{id}" : "")
                           + "|sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)));
            var display = coding.Display ?? concept!.Text;
            if (display is { Length: > 500 }) display = display[..500];
            entries.Add(new ImportEntryInput(DeterministicIds.Named($"fhir-entry|{patientId}|{identity}"), c,
                new CodeInput(coding.System, coding.Code, display), raw, RecordedAt(rawEntries[i])));
        }
        return new(patientId, registration, entries, skipped);
    }

    /// <summary>The patient's identity: their first identifier (system and value), else the entry's fullUrl, else the resource id.</summary>
    private static string PatientIdentity(Patient patient, string? fullUrl)
    {
        if (patient.Identifier.FirstOrDefault(i => !string.IsNullOrWhiteSpace(i.System) && !string.IsNullOrWhiteSpace(i.Value)) is { } identifier)
            return $"identifier|{identifier.System}|{identifier.Value}";
        if (!string.IsNullOrWhiteSpace(fullUrl)) return "fullUrl|" + fullUrl;
        if (!string.IsNullOrWhiteSpace(patient.Id)) return "id|" + patient.Id;
        throw new BundleException("invalid", "The Patient has no identifier, fullUrl or id to recognise them by.");
    }

    private static ImportRegistration Registration(Patient patient, string hospital)
    {
        if (patient.BirthDate is not { Length: >= 4 } birth || !int.TryParse(birth[..4], out var year))
            throw new BundleException("required", "The Patient needs a birth date (the year is kept).");
        var sex = patient.Gender switch
        {
            AdministrativeGender.Female => Sex.Female,
            AdministrativeGender.Male => Sex.Male,
            AdministrativeGender.Other => Sex.Other,
            _ => Sex.Unknown,
        };
        var name = patient.Name.FirstOrDefault(n => n.Use == HumanName.NameUse.Official) ?? patient.Name.FirstOrDefault();
        var text = name is null ? "" : !string.IsNullOrWhiteSpace(name.Text) ? name.Text
            : string.Join(' ', name.Given.Append(name.Family).Where(p => !string.IsNullOrWhiteSpace(p)));
        if (string.IsNullOrWhiteSpace(text))
            throw new BundleException("required", "The Patient needs a name.");
        if (text.Length > 200)
            throw new BundleException("invalid", "The Patient's name is longer than 200 characters.");
        return new(hospital, year, sex, text);
    }

    /// <summary>The category of a resource and the concept whose first coding is its code; no category: skipped, with the label.</summary>
    private static (Category? Category, CodeableConcept? Concept, string? Label) Map(Resource resource) => resource switch
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
        _ => (null, null, null),
    };

    private static string? ObservationCategory(Observation o) =>
        o.Category.SelectMany(c => c.Coding)
            .FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/observation-category")?.Code
        ?? o.Category.SelectMany(c => c.Coding).FirstOrDefault()?.Code;

    private static readonly string[] DateProperties =
        ["effectiveDateTime", "onsetDateTime", "authoredOn", "occurrenceDateTime", "performedDateTime", "recordedDate", "issued", "started", "dateAsserted"];

    private static DateTimeOffset? RecordedAt(JsonElement entry)
    {
        if (!entry.TryGetProperty("resource", out var resource) || resource.ValueKind != JsonValueKind.Object) return null;
        foreach (var name in DateProperties)
            if (resource.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(value.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
                return at;
        foreach (var name in (string[])["effectivePeriod", "performedPeriod"])
            if (resource.TryGetProperty(name, out var period) && period.ValueKind == JsonValueKind.Object
                && period.TryGetProperty("start", out var start) && start.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(start.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
                return at;
        return null;
    }
}
