using System.Text.Json;
using System.Text.RegularExpressions;
using Category = HealthEvents.Domain.Common.Category;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// Which imported resources are sensitive, whatever their type would file them under: a consent to "all" and research
/// filters never reach mental-health, sexual-health or genetics entries (Categories.Sensitive), so a resource that says
/// it is one must land there. The rule is <b>when in doubt, sensitive</b>; the list (Fhir/SensitiveCodes.csv, embedded,
/// with what each row means) is deliberately small and conservative — a match files the resource under a sensitive
/// category, no match leaves the type's category — and is the one place to extend, with the word patterns below. In order:
/// <list type="number">
/// <item><b>The sender's labels</b> (<c>meta.security</c>, HL7 v3 ActCode information-sensitivity codes): what the sender
/// says wins. A restricted or very restricted resource (v3 Confidentiality R, V) or one with a sensitivity we have no
/// category for (sickle cell SCA, social services SOC, taboo TBOO) is not imported at all, and reported: nothing here
/// would keep it from an "all" consent.</item>
/// <item><b>Its codes</b>, every coding anywhere in the resource (the code, a reason, a value, a contained Medication):
/// ICD-10 and ICD-10-CM by chapter or block (prefix), SNOMED CT and LOINC by exact code.</item>
/// <item><b>Its words</b>: the display and text of the resource's code, for what the code lists miss (descendant SNOMED
/// codes, local codes, text-only codes): "depress…", "schizo…", "HIV", "BRCA", "genetic"…</item>
/// </list>
/// When several categories match, the first of sexual-health, mental-health, genetics wins (each is opt-in).
/// Substance use has no category of its own: ICD-10 files it in chapter F (mental and behavioural disorders), and so
/// does this (v3 ETH, SUD → mental-health). Medications are classified by their reasons and words, not by a drug list.
/// </summary>
public static partial class FhirSensitivity
{
    public const string ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    public const string Confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

    /// <summary>What the import does with a resource: file it under <see cref="Category"/> (sensitive), withhold it (the reason), or neither (null, null).</summary>
    public readonly record struct Verdict(Category? Category, string? Withheld);

    /// <summary>The embedded list of sensitive labels and codes (Fhir/SensitiveCodes.csv; its header says the format).</summary>
    public const string CodesResource = "HealthEvents.Api.Fhir.SensitiveCodes.csv";

    private sealed record Rules(
        Dictionary<(string System, string Code), Category> Labels, HashSet<(string System, string Code)> Withholding,
        Dictionary<(string System, string Code), Category> Codes, List<(string Prefix, Category Category)> Icd10);

    private static readonly Rules List = Load();

    private static readonly string[] Icd10Systems =
    [
        "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.3", "urn:oid:2.16.840.1.113883.6.90",
    ];

    private static Rules Load()
    {
        var rules = new Rules([], [], [], []);
        using var stream = typeof(FhirSensitivity).Assembly.GetManifestResourceStream(CodesResource)
                           ?? throw new InvalidOperationException($"{CodesResource} is not in the assembly.");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var (category, system, match, value) = line.Split(',', 5) is [var c, var s, var m, var v, _]
                ? (c, s, m, v)
                : throw new InvalidDataException($"{CodesResource}: a row needs five fields.");
            if (category == "withheld") { rules.Withholding.Add((system, value)); continue; }
            var filed = HealthEvents.Domain.Common.KebabCase.TryParse<Category>(category, out var parsed) && HealthEvents.Domain.Common.Categories.IsSensitive(parsed)
                ? parsed
                : throw new InvalidDataException($"{CodesResource}: '{category}' is not a sensitive category.");
            switch (match)
            {
                case "label": rules.Labels[(system, value)] = filed; break;
                case "code": rules.Codes[(system, value)] = filed; break;
                case "prefix": rules.Icd10.Add((value.Replace(".", "", StringComparison.Ordinal), filed)); break;
                default: throw new InvalidDataException($"{CodesResource}: '{match}' is not label, code or prefix.");
            }
        }
        return rules;
    }

    /// <summary>Categories in the order a resource matching several is filed under.</summary>
    private static readonly Category[] Precedence = [Category.SexualHealth, Category.MentalHealth, Category.Genetics];

    /// <summary>
    /// The verdict on a resource (its exact JSON) whose code reads <paramref name="codeTexts"/> (the code's text and
    /// displays). See the class for the rules.
    /// </summary>
    public static Verdict Of(JsonElement resource, IEnumerable<string?> codeTexts)
    {
        var labels = Labelled(resource).ToList();
        if (labels.Select(l => List.Labels.TryGetValue(l, out var c) ? c : (Category?)null).OfType<Category>().ToList() is { Count: > 0 } labelled)
            return new(First(labelled), null);
        if (labels.Any(List.Withholding.Contains))
            return new(null, "restricted by its security labels (meta.security) without a sensitivity this service files");

        var found = new List<Category>();
        foreach (var (system, code) in Codings(resource))
            if (OfCode(system, code) is { } category) found.Add(category);
        foreach (var text in codeTexts)
            if (text is not null && OfWords(text) is { } category) found.Add(category);
        return new(found.Count > 0 ? First(found) : null, null);
    }

    /// <summary>The sensitive category of one coding, or null.</summary>
    public static Category? OfCode(string system, string code)
    {
        if (List.Codes.TryGetValue((system, code.Trim()), out var category)) return category;
        if (!Icd10Systems.Contains(system, StringComparer.OrdinalIgnoreCase)) return null;
        var normal = code.Replace(".", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        foreach (var (prefix, c) in List.Icd10)
            if (normal.StartsWith(prefix, StringComparison.Ordinal)) return c;
        return null;
    }

    /// <summary>The sensitive category a code's text or display names, or null.</summary>
    public static Category? OfWords(string text) =>
        SexualWords().IsMatch(text) || SexualAcronyms().IsMatch(text) ? Category.SexualHealth
        : MentalWords().IsMatch(text) || MentalAcronyms().IsMatch(text) ? Category.MentalHealth
        : GeneticWords().IsMatch(text) ? Category.Genetics
        : null;

    private static Category First(List<Category> found) => Precedence.First(found.Contains);

    /// <summary>The resource's security labels, the STU3-era system URIs (http://hl7.org/fhir/v3/…) read as today's.</summary>
    private static IEnumerable<(string System, string Code)> Labelled(JsonElement resource) =>
        resource.TryGetProperty("meta", out var meta) && meta.ValueKind == JsonValueKind.Object
        && meta.TryGetProperty("security", out var security) && security.ValueKind == JsonValueKind.Array
            ? security.EnumerateArray().Select(CodingOf).OfType<(string System, string Code)>().Select(l => l.System switch
            {
                "http://hl7.org/fhir/v3/ActCode" => (ActCode, l.Code),
                "http://hl7.org/fhir/v3/Confidentiality" => (Confidentiality, l.Code),
                _ => l,
            })
            : [];

    /// <summary>Every coding in the element (objects with a string system and code), at any depth but meta.</summary>
    private static IEnumerable<(string System, string Code)> Codings(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
                foreach (var c in Codings(item)) yield return c;
        }
        else if (element.ValueKind == JsonValueKind.Object)
        {
            if (CodingOf(element) is { } coding) yield return coding;
            foreach (var property in element.EnumerateObject())
                if (property.Name != "meta")
                    foreach (var c in Codings(property.Value)) yield return c;
        }
    }

    private static (string System, string Code)? CodingOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty("system", out var system) && system.ValueKind == JsonValueKind.String
        && element.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
            ? (system.GetString()!, code.GetString()!)
            : null;

    [GeneratedRegex(@"\b(human immunodeficiency|immunodeficiency virus|sexually transmitted|syphilis|gonorrh\w*|chlamydia\w*|genital herpes|herpes genitalis|trichomon\w*|sexual (assault|abuse|violence|orientation)|rape)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SexualWords();

    [GeneratedRegex(@"\b(HIV|AIDS|STI|STD)\b", RegexOptions.CultureInvariant)]
    private static partial Regex SexualAcronyms();

    [GeneratedRegex(@"\b(depress\w*|anxiety|anxious|panic disorder|schizo\w*|psychos[ie]s|psychotic|bipolar|mania|manic|suicid\w*|self[- ]harm|post[- ]?traumatic|eating disorder|anorexia nervosa|bulimi\w*|mental|psychiatr\w*|alcohol\w*|substance (use|abuse|dependence)|drug (use|abuse|dependence|addiction)|opioid (use|abuse|dependence)|addiction)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MentalWords();

    [GeneratedRegex(@"\b(PTSD|ADHD|PHQ-?\d*|GAD-?7|AUDIT(-C)?|DAST(-10)?)\b", RegexOptions.CultureInvariant)]
    private static partial Regex MentalAcronyms();

    [GeneratedRegex(@"\b(genetic\w*|genomic\w*|gene (mutation|variant|panel|test\w*)|BRCA\d?|carrier screening|karyotyp\w*|chromosom\w*)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex GeneticWords();
}
