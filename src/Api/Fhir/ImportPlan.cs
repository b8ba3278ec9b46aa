using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using Hl7.Fhir.Model;

namespace HealthEvents.Api.Fhir;

/// <summary>What the import does with one bundle entry.</summary>
public enum EntryKind { Patient, Record, Insurance, Skipped }

/// <summary>
/// One bundle entry's part in the import: the Patient; a record entry (<see cref="Record"/>: its index in
/// <see cref="ImportPlan.Entries"/>); the Coverage linked as insurance; or skipped, with the <see cref="Label"/> it is
/// reported under (its type, with the reason when the type does not say it).
/// </summary>
public sealed record PlannedEntry(EntryKind Kind, string Type, int Record = -1, Category? Category = null, string? Label = null);

/// <summary>
/// What an import will do: the patient, their registration, the entries, the insurance, and — entry by entry of the
/// bundle, in its order — what becomes of each (<see cref="Bundle"/>), which the transaction-response answers.
/// </summary>
public sealed record ImportPlan(
    Guid PatientId, ImportRegistration Registration, IReadOnlyList<ImportEntryInput> Entries, ImportInsuranceInput? Insurance,
    IReadOnlyList<PlannedEntry> Bundle)
{
    /// <summary>A resource larger than this would not fit one append once sealed; it is skipped and reported.</summary>
    public const int MaxResourceChars = 256 * 1024;

    /// <summary>The code system of a resource whose code is text only (no coding): HL7 data-absent-reason, code <c>as-text</c>.</summary>
    public const string TextOnlySystem = "http://terminology.hl7.org/CodeSystem/data-absent-reason";

    public const string TextOnlyCode = "as-text";

    /// <summary>
    /// The plan for a parsed bundle sent by <paramref name="hospital"/>. <paramref name="hospitalSecret"/> keys the patient
    /// id (<see cref="PatientIdOf"/>) and the entry ids (<see cref="IdentityOf"/>). Any fault refuses the bundle whole
    /// (<see cref="BundleException"/>): no or several Patients, an entry about someone else, one resource twice.
    /// </summary>
    public static ImportPlan Of(ParsedBundle parsed, string hospital, byte[] hospitalSecret, DateTimeOffset now)
    {
        var bundle = parsed.Model;
        var patientIndexes = bundle.Entry.Select((e, i) => (e, i)).Where(x => x.e.Resource is Patient).Select(x => x.i).ToList();
        if (patientIndexes.Count != 1)
            throw new BundleException("invalid", "The bundle must hold exactly one Patient.", "Bundle.entry");
        var patientIndex = patientIndexes[0];
        var patientEntry = bundle.Entry[patientIndex];
        var patient = (Patient)patientEntry.Resource!;
        var patientId = PatientIdOf(hospitalSecret, hospital, patient, patientEntry.FullUrl);
        var registration = RegistrationOf(patient, hospital);
        FhirPatientReferences.Check(parsed.RawEntries, patientIndex, patient, patientEntry.FullUrl);

        var entries = new List<ImportEntryInput>();
        var planned = new List<PlannedEntry>();
        var identities = new Dictionary<string, int>(StringComparer.Ordinal);
        ImportInsuranceInput? insurance = null;
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            var type = entry.Resource?.TypeName ?? "(no resource)";
            PlannedEntry Skip(string label) => new(EntryKind.Skipped, type, Label: label);
            if (entry.Resource is null || !parsed.RawEntries[i].TryGetProperty("resource", out var resource))
            {
                planned.Add(Skip($"(no resource{(entry.Request?.Method is { } method ? $": {method} is not imported" : "")})"));
                continue;
            }
            if (i == patientIndex) { planned.Add(new(EntryKind.Patient, type)); continue; }
            if (entry.Resource is Coverage coverage)
            {
                var (linked, skipped) = insurance is null ? FhirCoverage.Of(coverage, bundle, now) : (null, "Coverage (one insurance is linked per patient: an earlier Coverage was)");
                insurance ??= linked;
                planned.Add(linked is null ? Skip(skipped!) : new(EntryKind.Insurance, type));
                continue;
            }
            var (category, concept, label) = FhirCategories.Map(entry.Resource, (owner, reference) => MedicationOf(owner, reference, bundle));
            if (category is not { } c) { planned.Add(Skip(label ?? type)); continue; }
            var verdict = FhirSensitivity.Of(resource, [concept?.Text, .. concept?.Coding.Select(x => x.Display) ?? []]);
            if (verdict.Withheld is { } why) { planned.Add(Skip($"{type} ({why})")); continue; }
            if (verdict.Category is { } sensitive) c = sensitive;
            if (CodeOf(concept) is not { } code) { planned.Add(Skip($"{type} (no code: neither a coding nor a text)")); continue; }
            if (code.System.Length > 200 || code.Code.Length > 100) { planned.Add(Skip($"{type} (code too long)")); continue; }
            var raw = resource.GetRawText();
            if (raw.Length > MaxResourceChars) { planned.Add(Skip($"{type} (too large)")); continue; }

            var identity = IdentityOf(resource, entry.FullUrl, raw);
            if (identities.TryGetValue(identity, out var first))
                throw new BundleException("invalid",
                    $"Bundle.entry[{first}] and Bundle.entry[{i}] are the same resource (same identifier, id or fullUrl): a bundle names each resource once; nothing was imported.",
                    $"Bundle.entry[{first}]", $"Bundle.entry[{i}]");
            identities[identity] = i;
            var fullUrl = entry.FullUrl is { Length: > 0 and <= 1000 } url ? url : null;
            entries.Add(new ImportEntryInput(DeterministicIds.Keyed(hospitalSecret, $"fhir-entry|{patientId}|{identity}"), c, code, raw,
                FhirCategories.RecordedAt(resource), EntryContent.FhirJson, fullUrl));
            planned.Add(new(EntryKind.Record, type, entries.Count - 1, c));
        }
        return new(patientId, registration, entries, insurance, planned);
    }

    /// <summary>
    /// A resource's identity, what stays the same when a record is exported again: its first business identifier (system and
    /// value), else its type and id, else its fullUrl — often a fresh <c>urn:uuid</c> each export, which FHIR treats as
    /// temporary (bundle.html#fullUrl), so only the last resort — else its content (a resource with no name at all is
    /// recognised by what it says). The same identity sent again is the same entry: unchanged, a no-op; changed, a correction.
    /// </summary>
    public static string IdentityOf(JsonElement resource, string? fullUrl, string raw)
    {
        var type = StringOf(resource, "resourceType");
        if (resource.TryGetProperty("identifier", out var identifiers))
            foreach (var identifier in identifiers.ValueKind == JsonValueKind.Array ? identifiers.EnumerateArray().ToList() : [identifiers])
                if (StringOf(identifier, "system") is { Length: > 0 } system && StringOf(identifier, "value") is { Length: > 0 } value)
                    return $"{type}|identifier|{system}|{value}";
        if (StringOf(resource, "id") is { Length: > 0 } id) return $"{type}/{id}";
        if (!string.IsNullOrWhiteSpace(fullUrl)) return $"fullUrl|{fullUrl}";
        return $"{type}|content|sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))}";
    }

    /// <summary>A string property of an object, or null (any other kind: never a throw).</summary>
    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>
    /// The entry's code: the concept's first coding with a system and a code; a concept with text only (no coding) keeps its
    /// text as the display under <see cref="TextOnlySystem"/>#<see cref="TextOnlyCode"/> — the code itself is stored in the
    /// clear, the text is sealed with the content, so free text never reaches the unencrypted log. Null: no code at all.
    /// </summary>
    private static CodeInput? CodeOf(CodeableConcept? concept)
    {
        if (concept is null) return null;
        var display = Trim(concept.Text);
        if (concept.Coding.FirstOrDefault(x => !string.IsNullOrWhiteSpace(x.System) && !string.IsNullOrWhiteSpace(x.Code)) is { } coding)
            return new(coding.System!, coding.Code!, Trim(coding.Display) ?? display);
        return display is null ? null : new(TextOnlySystem, TextOnlyCode, display);
    }

    private static string? Trim(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Length > 500 ? text[..500] : text;

    /// <summary>A medicationReference's Medication: contained (<c>#id</c>), or an entry of the bundle (its fullUrl, or Medication/{id}).</summary>
    private static Medication? MedicationOf(DomainResource owner, ResourceReference reference, Bundle bundle) =>
        reference.Reference switch
        {
            ['#', .. var local] => owner.Contained.OfType<Medication>().FirstOrDefault(m => m.Id == local),
            { Length: > 0 } target => bundle.Entry.Select(e => (e.FullUrl, Medication: e.Resource as Medication))
                .FirstOrDefault(e => e.Medication is not null && (e.FullUrl == target || $"Medication/{e.Medication.Id}" == target)).Medication,
            _ => null,
        };

    /// <summary>
    /// The patient's id at the sending hospital: keyed by that hospital's own secret over the hospital and the patient's
    /// identity — their first identifier (system and value), else the entry's fullUrl, else the resource id — so the same
    /// person sent again by the same hospital is the same patient, while another member can neither compute the id from an
    /// identifier it knows nor reach the patient by sending that identifier (it gets a patient of its own): no answer or
    /// id tells a member whether another hospital holds someone.
    /// </summary>
    public static Guid PatientIdOf(byte[] hospitalSecret, string hospital, Patient patient, string? fullUrl)
    {
        string identity;
        if (patient.Identifier.FirstOrDefault(i => !string.IsNullOrWhiteSpace(i.System) && !string.IsNullOrWhiteSpace(i.Value)) is { } identifier)
            identity = $"identifier|{identifier.System}|{identifier.Value}";
        else if (!string.IsNullOrWhiteSpace(fullUrl)) identity = "fullUrl|" + fullUrl;
        else if (!string.IsNullOrWhiteSpace(patient.Id)) identity = "id|" + patient.Id;
        else throw new BundleException("invalid", "The Patient has no identifier, fullUrl or id to recognise them by.", "Bundle.entry");
        return DeterministicIds.Keyed(hospitalSecret, $"fhir-patient|{hospital}|{identity}");
    }

    private static ImportRegistration RegistrationOf(Patient patient, string hospital)
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
}
