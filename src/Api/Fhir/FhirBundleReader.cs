using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace HealthEvents.Api.Fhir;

/// <summary>A bundle refused before anything is decided: its OperationOutcome issue code and our own message.</summary>
public sealed class BundleException(string issueCode, string message) : Exception(message)
{
    public string IssueCode { get; } = issueCode;
}

/// <summary>
/// A FHIR R4 Bundle read twice over the same text, each for what only it gives: the Firely SDK's model (strict: types,
/// cardinalities, value formats) for mapping and profile validation, and a <see cref="JsonDocument"/> for each resource's
/// exact text, which is what is sealed and served back. Both refuse a property named twice, so they cannot read the
/// same text differently; the entry counts must agree too.
/// </summary>
public sealed record ParsedBundle(Bundle Model, JsonElement RawEntries)
{
    public static ParsedBundle Parse(string json)
    {
        Bundle bundle;
        JsonElement rawEntries;
        try
        {
            bundle = new FhirJsonDeserializer().Deserialize<Bundle>(json);
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            rawEntries = document.RootElement.TryGetProperty("entry", out var e) && e.ValueKind == JsonValueKind.Array
                ? e.Clone()
                : default;
        }
        catch (Exception e) when (e is DeserializationFailedException or JsonException or FormatException or InvalidCastException)
        {
            // Firely's messages quote values from the bundle: the kind of fault only.
            throw new BundleException("structure", "The body is not a valid FHIR R4 Bundle in JSON.");
        }
        if (bundle.Type is not (Bundle.BundleType.Transaction or Bundle.BundleType.Batch or Bundle.BundleType.Collection))
            throw new BundleException("not-supported", "Only transaction, batch or collection bundles are imported.");
        if ((rawEntries.ValueKind == JsonValueKind.Array ? rawEntries.GetArrayLength() : 0) != bundle.Entry.Count)
            throw new BundleException("structure", "The bundle's entries could not be read.");
        return new(bundle, rawEntries);
    }
}

/// <summary>
/// What an import will do: the patient, their registration, the entries, how many resources of each type they are
/// (type → count), and what is skipped (label → count).
/// </summary>
public sealed record ImportPlan(
    Guid PatientId, ImportRegistration Registration, IReadOnlyList<ImportEntryInput> Entries,
    IReadOnlyDictionary<string, int> Imported, IReadOnlyDictionary<string, int> Skipped)
{
    /// <summary>A resource larger than this would not fit one append once sealed; it is skipped and reported.</summary>
    public const int MaxResourceChars = 256 * 1024;

    /// <summary>
    /// The plan for a parsed bundle sent by <paramref name="hospital"/>. <paramref name="hospitalSecret"/> keys the patient
    /// id (<see cref="PatientIdOf"/>). Any fault refuses the bundle whole (<see cref="BundleException"/>).
    /// </summary>
    public static ImportPlan Of(ParsedBundle parsed, string hospital, byte[] hospitalSecret)
    {
        var bundle = parsed.Model;
        var patients = bundle.Entry.Where(e => e.Resource is Patient).ToList();
        if (patients.Count != 1)
            throw new BundleException("invalid", "The bundle must hold exactly one Patient.");
        var patientEntry = patients[0];
        var patient = (Patient)patientEntry.Resource!;
        var patientId = PatientIdOf(hospitalSecret, hospital, patient, patientEntry.FullUrl);
        var registration = RegistrationOf(patient, hospital);

        var entries = new List<ImportEntryInput>();
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var imported = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Skip(string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            if (entry.Resource is null) { Skip("(no resource)"); continue; }
            if (entry.Resource is Patient) continue;
            var type = entry.Resource.TypeName;
            var (category, concept, label) = FhirCategories.Map(entry.Resource);
            if (category is not { } c) { Skip(label ?? type); continue; }
            var coding = concept?.Coding.FirstOrDefault(x => !string.IsNullOrWhiteSpace(x.System) && !string.IsNullOrWhiteSpace(x.Code));
            if (coding is null) { Skip($"{type} (no coding)"); continue; }
            if (coding.System!.Length > 200 || coding.Code!.Length > 100) { Skip($"{type} (code too long)"); continue; }
            if (!parsed.RawEntries[i].TryGetProperty("resource", out var resource)) { Skip("(no resource)"); continue; }
            var raw = resource.GetRawText();
            if (raw.Length > MaxResourceChars) { Skip($"{type} (too large)"); continue; }
            var fullUrl = entry.FullUrl is { Length: > 0 and <= 1000 } url ? url : null;
            // A bundle's fullUrl and ids are often the sender's temporary names: with the content's hash beside them,
            // the same resource sent again is the same entry (a no-op), while another resource under the same name is
            // an entry of its own, never silently counted as "already present".
            var identity = (fullUrl ?? (entry.Resource.Id is { Length: > 0 } id ? $"{type}/{id}" : ""))
                           + "|sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)));
            var display = coding.Display ?? concept!.Text;
            if (display is { Length: > 500 }) display = display[..500];
            entries.Add(new ImportEntryInput(DeterministicIds.Named($"fhir-entry|{patientId}|{identity}"), c,
                new CodeInput(coding.System, coding.Code, display), raw, FhirCategories.RecordedAt(resource), EntryContent.FhirJson, fullUrl));
            imported[type] = imported.GetValueOrDefault(type) + 1;
        }
        return new(patientId, registration, entries, imported, skipped);
    }

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
        else throw new BundleException("invalid", "The Patient has no identifier, fullUrl or id to recognise them by.");
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
