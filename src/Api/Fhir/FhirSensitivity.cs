using System.Text.Json;
using System.Text.RegularExpressions;
using Category = HealthEvents.Domain.Common.Category;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// Which imported resources are sensitive, whatever their type would file them under: a consent to "all" and research
/// filters never reach mental-health, sexual-health or genetics entries (Categories.Sensitive), so a resource that says
/// it is one must land there. The rule is <b>when in doubt, sensitive</b>; the lists below are deliberately small and
/// conservative — a match files the resource under a sensitive category, no match leaves the type's category — and are
/// the one place to extend. In order:
/// <list type="number">
/// <item><b>The sender's labels</b> (<c>meta.security</c>, HL7 v3 ActCode information-sensitivity codes): what the sender
/// says wins. A restricted or very restricted resource (v3 Confidentiality R, V) or one with a sensitivity we have no
/// category for (sickle cell SCA, social services SOC, taboo TBOO) is not imported at all, and reported: nothing here
/// would keep it from an "all" consent.</item>
/// <item><b>Its codes</b>, every coding anywhere in the resource (the code, a reason, a value, a contained Medication):
/// ICD-10 and ICD-10-CM by chapter or block, SNOMED CT and LOINC by exact code.</item>
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
    private const string Snomed = "http://snomed.info/sct";
    private const string Loinc = "http://loinc.org";

    /// <summary>What the import does with a resource: file it under <see cref="Category"/> (sensitive), withhold it (the reason), or neither (null, null).</summary>
    public readonly record struct Verdict(Category? Category, string? Withheld);

    /// <summary>v3 ActCode sensitivity labels (meta.security) and the category each files a resource under.</summary>
    private static readonly Dictionary<string, Category> Labels = new(StringComparer.Ordinal)
    {
        ["PSY"] = Category.MentalHealth, ["MH"] = Category.MentalHealth, ["BH"] = Category.MentalHealth, ["PSYTHPN"] = Category.MentalHealth,
        ["ETH"] = Category.MentalHealth, ["ETHUD"] = Category.MentalHealth, ["SUD"] = Category.MentalHealth,
        ["ALCUD"] = Category.MentalHealth, ["OPIOIDUD"] = Category.MentalHealth,
        ["HIV"] = Category.SexualHealth, ["STD"] = Category.SexualHealth, ["SDV"] = Category.SexualHealth, ["SEX"] = Category.SexualHealth,
        ["GDIS"] = Category.Genetics, ["GENETIC"] = Category.Genetics,
    };

    /// <summary>Labels that make a resource sensitive without naming a category we have: withheld.</summary>
    private static readonly HashSet<(string System, string Code)> Withholding =
    [
        (Confidentiality, "R"), (Confidentiality, "V"), (ActCode, "SCA"), (ActCode, "SOC"), (ActCode, "TBOO"),
    ];

    /// <summary>SNOMED CT and LOINC codes, each with its category: the ones the samples and common EHR exports use.</summary>
    private static readonly Dictionary<(string System, string Code), Category> Codes = new()
    {
        // SNOMED CT, mental health: depression, anxiety, psychoses, bipolar, PTSD, eating disorders, ADHD, suicide, substance use.
        [(Snomed, "35489007")] = Category.MentalHealth,   // depressive disorder
        [(Snomed, "370143000")] = Category.MentalHealth,  // major depressive disorder
        [(Snomed, "36923009")] = Category.MentalHealth,   // major depression, single episode
        [(Snomed, "197480006")] = Category.MentalHealth,  // anxiety disorder
        [(Snomed, "48694002")] = Category.MentalHealth,   // anxiety
        [(Snomed, "21897009")] = Category.MentalHealth,   // generalized anxiety disorder
        [(Snomed, "58214004")] = Category.MentalHealth,   // schizophrenia
        [(Snomed, "13746004")] = Category.MentalHealth,   // bipolar disorder
        [(Snomed, "47505003")] = Category.MentalHealth,   // posttraumatic stress disorder
        [(Snomed, "72366004")] = Category.MentalHealth,   // eating disorder
        [(Snomed, "56882008")] = Category.MentalHealth,   // anorexia nervosa
        [(Snomed, "406506008")] = Category.MentalHealth,  // attention deficit hyperactivity disorder
        [(Snomed, "192127007")] = Category.MentalHealth,  // child attention deficit disorder
        [(Snomed, "82313006")] = Category.MentalHealth,   // suicide attempt
        [(Snomed, "6471006")] = Category.MentalHealth,    // suicidal thoughts
        [(Snomed, "73595000")] = Category.MentalHealth,   // stress
        [(Snomed, "7200002")] = Category.MentalHealth,    // alcoholism
        [(Snomed, "15167005")] = Category.MentalHealth,   // alcohol abuse
        [(Snomed, "66214007")] = Category.MentalHealth,   // substance abuse
        [(Snomed, "6525002")] = Category.MentalHealth,    // dependent drug abuse
        [(Snomed, "5602001")] = Category.MentalHealth,    // opioid abuse
        [(Snomed, "55680006")] = Category.MentalHealth,   // drug overdose
        // SNOMED CT, sexual health: HIV and AIDS, sexually transmitted infections.
        [(Snomed, "86406008")] = Category.SexualHealth,   // human immunodeficiency virus infection
        [(Snomed, "62479008")] = Category.SexualHealth,   // acquired immune deficiency syndrome
        [(Snomed, "165816005")] = Category.SexualHealth,  // HIV positive
        [(Snomed, "91947003")] = Category.SexualHealth,   // asymptomatic HIV infection
        [(Snomed, "111880001")] = Category.SexualHealth,  // acute HIV infection
        [(Snomed, "8098009")] = Category.SexualHealth,    // sexually transmitted infectious disease
        [(Snomed, "105629000")] = Category.SexualHealth,  // chlamydial infection
        [(Snomed, "15628003")] = Category.SexualHealth,   // gonorrhea
        [(Snomed, "76272004")] = Category.SexualHealth,   // syphilis
        [(Snomed, "33839006")] = Category.SexualHealth,   // genital herpes simplex
        [(Snomed, "56335008")] = Category.SexualHealth,   // trichomoniasis
        // SNOMED CT, genetics.
        [(Snomed, "718220008")] = Category.Genetics,      // hereditary breast and ovarian cancer syndrome
        // LOINC, mental health screenings (panels and totals): PHQ-9, PHQ-2, GAD-7, AUDIT, AUDIT-C, DAST-10, EPDS.
        [(Loinc, "44249-1")] = Category.MentalHealth, [(Loinc, "44261-6")] = Category.MentalHealth,
        [(Loinc, "55757-9")] = Category.MentalHealth, [(Loinc, "55758-7")] = Category.MentalHealth,
        [(Loinc, "69737-5")] = Category.MentalHealth, [(Loinc, "70274-6")] = Category.MentalHealth,
        [(Loinc, "72110-0")] = Category.MentalHealth, [(Loinc, "75624-7")] = Category.MentalHealth,
        [(Loinc, "72109-2")] = Category.MentalHealth, [(Loinc, "75626-2")] = Category.MentalHealth,
        [(Loinc, "82666-9")] = Category.MentalHealth, [(Loinc, "82667-7")] = Category.MentalHealth,
        [(Loinc, "71354-5")] = Category.MentalHealth,
        // LOINC, HIV tests and status; chlamydia, gonorrhoea and syphilis tests.
        [(Loinc, "75622-1")] = Category.SexualHealth, [(Loinc, "56888-1")] = Category.SexualHealth, [(Loinc, "7917-8")] = Category.SexualHealth,
        [(Loinc, "7918-6")] = Category.SexualHealth, [(Loinc, "68961-2")] = Category.SexualHealth, [(Loinc, "5221-7")] = Category.SexualHealth,
        [(Loinc, "31201-7")] = Category.SexualHealth, [(Loinc, "48345-3")] = Category.SexualHealth, [(Loinc, "20447-9")] = Category.SexualHealth,
        [(Loinc, "25835-0")] = Category.SexualHealth, [(Loinc, "10351-5")] = Category.SexualHealth, [(Loinc, "55277-8")] = Category.SexualHealth,
        [(Loinc, "21613-5")] = Category.SexualHealth, [(Loinc, "24111-7")] = Category.SexualHealth, [(Loinc, "20507-0")] = Category.SexualHealth,
        // LOINC, genetic tests and reports: BRCA1/BRCA2 mutations, genetic analysis, variant reporting.
        [(Loinc, "21636-6")] = Category.Genetics, [(Loinc, "21637-4")] = Category.Genetics, [(Loinc, "51969-4")] = Category.Genetics,
        [(Loinc, "51968-6")] = Category.Genetics, [(Loinc, "81247-9")] = Category.Genetics, [(Loinc, "69548-6")] = Category.Genetics,
        [(Loinc, "48018-6")] = Category.Genetics, [(Loinc, "81252-9")] = Category.Genetics, [(Loinc, "53037-8")] = Category.Genetics,
    };

    /// <summary>
    /// ICD-10 (WHO, and the national modifications such as ICD-10-CM) by code prefix, dots removed: chapter F (mental and
    /// behavioural disorders, substance use included), HIV disease B20–B24, asymptomatic HIV Z21, inconclusive HIV test
    /// R75, HIV in pregnancy O98.7, HIV exposure, screening and counselling Z20.6, Z11.4, Z71.7, sexually transmitted
    /// infections A50–A64; genetic susceptibility and carrier status Z15, Z14.
    /// </summary>
    private static readonly (string Prefix, Category Category)[] Icd10 =
    [
        ("F", Category.MentalHealth),
        ("B20", Category.SexualHealth), ("B21", Category.SexualHealth), ("B22", Category.SexualHealth), ("B23", Category.SexualHealth),
        ("B24", Category.SexualHealth), ("Z21", Category.SexualHealth), ("R75", Category.SexualHealth), ("O987", Category.SexualHealth),
        ("Z206", Category.SexualHealth), ("Z114", Category.SexualHealth), ("Z717", Category.SexualHealth),
        .. Enumerable.Range(50, 15).Select(n => ($"A{n}", Category.SexualHealth)),
        ("Z15", Category.Genetics), ("Z14", Category.Genetics),
    ];

    private static readonly string[] Icd10Systems =
    [
        "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.3", "urn:oid:2.16.840.1.113883.6.90",
    ];

    /// <summary>Categories in the order a resource matching several is filed under.</summary>
    private static readonly Category[] Precedence = [Category.SexualHealth, Category.MentalHealth, Category.Genetics];

    /// <summary>
    /// The verdict on a resource (its exact JSON) whose code reads <paramref name="codeTexts"/> (the code's text and
    /// displays). See the class for the rules.
    /// </summary>
    public static Verdict Of(JsonElement resource, IEnumerable<string?> codeTexts)
    {
        var labels = Labelled(resource).ToList();
        if (labels.Select(l => l.System == ActCode && Labels.TryGetValue(l.Code, out var c) ? c : (Category?)null).OfType<Category>().ToList() is { Count: > 0 } labelled)
            return new(First(labelled), null);
        if (labels.Any(Withholding.Contains))
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
        if (Codes.TryGetValue((system, code.Trim()), out var category)) return category;
        if (!Icd10Systems.Contains(system, StringComparer.OrdinalIgnoreCase)) return null;
        var normal = code.Replace(".", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        foreach (var (prefix, c) in Icd10)
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
