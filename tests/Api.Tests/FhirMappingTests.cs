using System.Net;
using System.Text.Json;
using HealthEvents.Api.Fhir;
using static HealthEvents.Api.Tests.FhirTestBundles;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Where imported resources land (issue 14's findings): sensitive content — by the sender's labels, its codes or its
/// words — under the sensitive categories, so that neither an "all" consent nor research reaches it; surveys, Coverage,
/// contained medications and text-only codes imported rather than dropped.
/// </summary>
public sealed class FhirMappingTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    private static readonly string[] Everything =
        ["allergies", "medications", "conditions", "lab-results", "imaging", "vaccinations", "vital-signs", "procedures", "surveys",
         "mental-health", "sexual-health", "genetics"];

    private const string Icd10Cm = "http://hl7.org/fhir/sid/icd-10-cm";

    /// <summary>Each sensitive resource of <see cref="Sensitive_content_is_filed_where_only_a_consent_naming_it_reaches_it"/>: its code and category.</summary>
    private static readonly (string Resource, string Code, string Category)[] SensitiveResources =
    [
        (Snomed("58214004", "Schizophrenia", """
            "meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PSY"}]},
            """), "58214004", "mental-health"),
        (Condition(Icd10Cm, "F32.9", "Major depressive disorder, single episode"), "F32.9", "mental-health"),
        (Snomed("86406008", "Human immunodeficiency virus infection"), "86406008", "sexual-health"),
        (Condition("http://hl7.org/fhir/sid/icd-10", "B20", "HIV disease"), "B20", "sexual-health"),
        (Observation("laboratory", "75622-1", "HIV 1+2 Ab+HIV1 p24 Ag", """ "valueString":"reactive", """), "75622-1", "sexual-health"),
        (Observation("laboratory", "21636-6", "BRCA1 gene mutations tested for", """ "valueString":"pathogenic variant", """), "21636-6", "genetics"),
        // A local code the lists do not know, whose words say what it is.
        (Condition("urn:test:local-codes", "L-77", "Severe depressive episode with psychotic features"), "L-77", "mental-health"),
        // A medication is sensitive by its reason.
        ("""
         {"resourceType":"MedicationRequest","status":"active","intent":"order",
          "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1116632"}]},
          "reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"F20.9"}]}],"subject":
         """ + Subject + "}", "1116632", "mental-health"),
    ];

    [Fact]
    public async Task Sensitive_content_is_filed_where_only_a_consent_naming_it_reaches_it()
    {
        var mrn = $"sensitive-{Guid.NewGuid():N}";
        var diabetes = Snomed("44054006", "Diabetes mellitus type 2");
        // Restricted by the sender without saying why: no category here keeps it from "all", so it is not imported.
        var restricted = Snomed("195967001", "Asthma", """
            "meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},
            """);
        var (summary, answer) = await ImportAsync(Host.As($"{Home} physician"),
            Transaction(mrn, [diabetes, restricted, .. SensitiveResources.Select(r => r.Resource)]));
        var patientId = summary.PatientId;
        Assert.Equal(SensitiveResources.Length + 1, summary.Added);
        Assert.Equal(("422 Unprocessable Entity", null, "skipped"), ResponseOf(answer, 2));

        // The patient sees each sensitive resource under its sensitive category.
        var patient = PatientClient(Host, patientId);
        var all = (await EntriesAsync(patient, patientId, "treatment", Everything)).ToDictionary(e => e.GetProperty("code").GetString()!);
        foreach (var (_, code, category) in SensitiveResources)
            Assert.True(all[code].GetProperty("category").GetString() == category, $"{code}: {all[code].GetProperty("category")}");
        Assert.Equal("conditions", all["44054006"].GetProperty("category").GetString());

        // A hospital the patient gave "all" reads the diabetes only.
        Assert.Equal(HttpStatusCode.Created, (await patient.PostJsonAsync($"/patients/{patientId}/consents", new
        {
            grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "all" }, purposes = new[] { "treatment" }, actions = new[] { "read" },
        })).StatusCode);
        var released = await EntriesAsync(Host.As("riverside physician"), patientId, "treatment", "all");
        Assert.Equal(["44054006"], released.Select(e => e.GetProperty("code").GetString()));

        // Research with "all": conditions are counted, the sensitive codes are not among them.
        Assert.Equal(HttpStatusCode.Created, (await patient.PostJsonAsync($"/patients/{patientId}/consents", new
        {
            grantee = new { kind = "role", id = "researcher" }, categories = new[] { "all" }, purposes = new[] { "research" }, actions = new[] { "read" },
        })).StatusCode);
        var researcher = Host.As("researcher");
        var name = $"sensitive-{Guid.NewGuid():N}"[..30];
        Assert.Equal(HttpStatusCode.Created, (await researcher.PostJsonAsync("/research/projections",
            new { name, filter = new { categories = new[] { "conditions", "lab-results", "medications" } }, groupBy = new[] { "code" }, k = 2 })).StatusCode);
        var rows = (await LiveAsync(researcher, name)).GetProperty("rows").EnumerateArray()
            .Select(r => r.GetProperty("group").GetProperty("code").GetString()!).ToList();
        Assert.Contains("http://snomed.info/sct|44054006", rows);
        foreach (var (_, code, _) in SensitiveResources)
            Assert.DoesNotContain(rows, r => r.EndsWith("|" + code, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Surveys_a_Coverage_a_contained_medication_and_a_text_only_code_are_imported()
    {
        var coverage = """
            {"resourceType":"Coverage","status":"active","subscriberId":"POL-77","beneficiary":
            """ + Subject + """
            ,"payor":[{"display":"Acme Health"}],"period":{"start":"2020-01-01","end":"2040-01-01"}}
            """;
        var contained = """
            {"resourceType":"MedicationRequest","status":"active","intent":"order",
             "contained":[{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361","display":"Amlodipine 5 MG Oral Tablet"}]}}],
             "medicationReference":{"reference":"#med1"},"subject":
            """ + Subject + "}";
        var textOnly = """
            {"resourceType":"AllergyIntolerance","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
             "code":{"text":"cats"},"patient":
            """ + Subject + "}";
        var smoking = Observation("survey", "72166-2", "Tobacco smoking status", """
            "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"266919005","display":"Never smoked tobacco"}]},
            """);
        var bundle = Transaction($"mapping-{Guid.NewGuid():N}", coverage, contained, textOnly, smoking);
        var physician = Host.As($"{Home} physician");
        var (summary, answer) = await ImportAsync(physician, bundle);
        var patientId = summary.PatientId;

        Assert.Equal(("201 Created", null, "insurance-linked"), ResponseOf(answer, 1));
        Assert.Equal(3, summary.Added);
        var entries = (await EntriesAsync(PatientClient(Host, patientId), patientId, "treatment", Everything)).ToDictionary(e => e.GetProperty("code").GetString()!);
        // The contained Medication's coding is the entry's code.
        Assert.Equal("medications", entries["197361"].GetProperty("category").GetString());
        Assert.Equal("http://www.nlm.nih.gov/research/umls/rxnorm", entries["197361"].GetProperty("codeSystem").GetString());
        // A code with text only: kept, the text as its display (sealed), the code saying "as text".
        Assert.Equal(ImportPlan.TextOnlySystem, entries[ImportPlan.TextOnlyCode].GetProperty("codeSystem").GetString());
        Assert.Equal("cats", entries[ImportPlan.TextOnlyCode].GetProperty("display").GetString());
        // A survey: its own category, which is sensitive.
        Assert.Equal("surveys", entries["72166-2"].GetProperty("category").GetString());

        // The Coverage is the patient's insurance, as PUT /patients/{id}/insurance would have linked it.
        var validity = await (await physician.GetAsync($"/patients/{patientId}/insurance/validity?at=2030-06-01T00:00:00Z")).JsonAsync();
        Assert.True(validity.GetProperty("valid").GetBoolean(), validity.ToString());
        Assert.Equal("Acme Health", validity.GetProperty("insurer").GetString());

        // Sent again: nothing new, the insurance included.
        var before = await Host.CountsAsync();
        var (again, againAnswer) = await ImportAsync(physician, bundle);
        Assert.Equal(("200 OK", null, "insurance-already-linked"), ResponseOf(againAnswer, 1));
        Assert.Equal(0, again.Added);
        Assert.Equal(before, await Host.CountsAsync());
    }

    private static async Task<JsonElement> LiveAsync(HttpClient researcher, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var body = await (await researcher.GetAsync($"/research/projections/{name}")).JsonAsync();
            if (body.GetProperty("status").GetString() == "live") return body;
            Assert.True(DateTime.UtcNow < deadline, "the research projection did not become live");
            await Task.Delay(100);
        }
    }
}
