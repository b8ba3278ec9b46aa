using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using HealthEvents.Domain.Common;
using Xunit.Abstractions;

namespace HealthEvents.Api.Tests;

/// <summary>
/// FHIR in (issue 14): POST /fhir with a transaction Bundle registers the patient and lands their record as entries,
/// in one or a few endorsed transactions; sending it again adds nothing; a bad bundle or a foreign hospital stores nothing.
/// </summary>
public sealed class FhirImportTests(DemoServiceFixture fixture, ITestOutputHelper output) : IClassFixture<DemoServiceFixture>
{
    private const string Home = "northside";
    private static readonly string[] Categories =
        ["allergies", "medications", "conditions", "lab-results", "imaging", "vaccinations", "vital-signs", "procedures"];

    /// <summary>The shared Synthea samples (../shared/fhir-samples/synthea-r4 next to the repository), or null.</summary>
    private static string? SamplesFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "HealthEvents.sln")))
                {
                    var folder = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fhir-samples", "synthea-r4"));
                    return Directory.Exists(folder) ? folder : null;
                }
            return null;
        }
    }

    private ServiceHost Host => fixture.Host;

    private static Task<HttpResponseMessage> PostBundle(HttpClient client, string bundle) =>
        client.PostAsync("/fhir", new StringContent(bundle, Encoding.UTF8, "application/fhir+json"));

    private static async Task<JsonElement> Accepted(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.JsonAsync();
    }

    private static int Skipped(JsonElement summary, string type) =>
        summary.GetProperty("skipped").EnumerateArray().Where(s => s.GetProperty("type").GetString() == type).Sum(s => s.GetProperty("count").GetInt32());

    [SkippableFact]
    public async Task Every_sample_patient_imports_once_and_sending_it_again_adds_nothing()
    {
        var folder = SamplesFolder;
        Skip.If(folder is null, "../shared/fhir-samples/synthea-r4 is not there: no sample patients to import");
        var physician = Host.As($"{Home} physician");
        var clock = Stopwatch.StartNew();
        var resources = 0;
        foreach (var file in Directory.GetFiles(folder!, "*.json").Order())
        {
            var bundle = await File.ReadAllTextAsync(file);
            var response = await PostBundle(physician, bundle);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{Path.GetFileName(file)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var summary = await response.JsonAsync();
            var patientId = summary.GetProperty("patientId").GetGuid();
            var added = summary.GetProperty("added").GetInt32();
            Assert.True(summary.GetProperty("registered").GetBoolean());
            Assert.Equal(summary.GetProperty("resources").GetInt32(), added);
            Assert.True(added > 0);
            // What is not mapped is reported by type, never dropped silently: the samples all carry claims.
            Assert.True(Skipped(summary, "Claim") > 0, summary.GetProperty("skipped").ToString());
            var inBundle = JsonDocument.Parse(bundle).RootElement.GetProperty("entry").GetArrayLength();
            Assert.Equal(inBundle - 1, added + summary.GetProperty("skipped").EnumerateArray().Sum(s => s.GetProperty("count").GetInt32()));
            resources += added;

            // The records view (the patient's own access): every entry, each the resource's own JSON.
            var patient = Host.Client(Host.Mint(Home, $"fhir-{patientId}", Role.Patient, patientId));
            var access = await Accepted(await patient.PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = Categories }));
            var entries = access.GetProperty("entries").EnumerateArray().ToList();
            Assert.Equal(added, entries.Count);
            var first = JsonDocument.Parse(entries[0].GetProperty("text").GetString()!).RootElement;
            Assert.True(first.TryGetProperty("resourceType", out _));

            // The audit view, as the patient sees it: registered once, every entry added.
            var trail = await (await patient.GetAsync($"/patients/{patientId}/audit?action=entry-added&limit=200")).JsonAsync();
            var count = trail.GetProperty("items").GetArrayLength();
            for (var next = trail.GetProperty("next"); next.ValueKind == JsonValueKind.String; next = trail.GetProperty("next"))
            {
                trail = await (await patient.GetAsync($"/patients/{patientId}/audit?action=entry-added&limit=200&cursor={Uri.EscapeDataString(next.GetString()!)}")).JsonAsync();
                count += trail.GetProperty("items").GetArrayLength();
            }
            Assert.Equal(added, count);
            var registered = await (await patient.GetAsync($"/patients/{patientId}/audit?action=patient-registered")).JsonAsync();
            Assert.Equal(1, registered.GetProperty("items").GetArrayLength());

            // Sent again: a no-op.
            var before = await Host.CountsAsync();
            var again = await (await PostBundle(physician, bundle)).JsonAsync();
            Assert.False(again.GetProperty("registered").GetBoolean());
            Assert.Equal(0, again.GetProperty("added").GetInt32());
            Assert.Equal(before, await Host.CountsAsync());
        }
        output.WriteLine($"Imported {resources} resources in {clock.Elapsed.TotalSeconds:F1} s (with the checks and a second sending each).");
    }

    [Fact]
    public async Task A_small_bundle_maps_resources_to_categories_and_reports_what_it_skips()
    {
        var summary = await Accepted(await PostBundle(Host.As($"{Home} physician"), Bundle("map-1")));
        Assert.Equal(3, summary.GetProperty("added").GetInt32());
        Assert.Equal(1, Skipped(summary, "Claim"));
        Assert.Equal(1, Skipped(summary, "Observation (survey)"));
        var patientId = summary.GetProperty("patientId").GetGuid();
        var access = await Accepted(await Host.Client(Host.Mint(Home, "fhir-map-1", Role.Patient, patientId)).PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = Categories }));
        var entries = access.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("code").GetString()!, e => e);
        Assert.Equal("conditions", entries["44054006"].GetProperty("category").GetString());
        Assert.Equal("vital-signs", entries["8867-4"].GetProperty("category").GetString());
        Assert.Equal("procedures", entries["73761001"].GetProperty("category").GetString());
        Assert.Equal("Diabetes", entries["44054006"].GetProperty("display").GetString());
        // The content is the resource exactly as sent.
        Assert.Equal(ConditionJson, entries["44054006"].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_malformed_bundle_is_an_OperationOutcome_400_and_stores_nothing()
    {
        var before = await Host.CountsAsync();
        var physician = Host.As($"{Home} physician");
        foreach (var body in new[] { "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\",\"gender\":42}}]}",
                     "{not json", Bundle("bad-1").Replace("\"transaction\"", "\"searchset\""), "{\"resourceType\":\"Patient\"}" })
        {
            var response = await PostBundle(physician, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
            var outcome = await response.JsonAsync();
            Assert.Equal("OperationOutcome", outcome.GetProperty("resourceType").GetString());
            Assert.Equal("error", outcome.GetProperty("issue")[0].GetProperty("severity").GetString());
        }
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task A_practitioner_of_another_hospital_is_refused_and_nothing_is_stored()
    {
        await Accepted(await PostBundle(Host.As($"{Home} physician"), Bundle("foreign-1")));
        var before = await Host.CountsAsync();

        var response = await PostBundle(Host.As("riverside physician"), Bundle("foreign-1").Replace("urn:uuid:6f1c2e00-0000-4000-8000-000000000002", "urn:uuid:6f1c2e00-0000-4000-8000-000000000009"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("OperationOutcome", (await response.JsonAsync()).GetProperty("resourceType").GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task The_FHIR_route_takes_bundles_above_the_general_body_limit()
    {
        var padding = new string('x', 200 * 1024);
        var bundle = Bundle("big-1").Replace("\"text\":\"Diabetes\"", $"\"text\":\"{padding}\"");
        await Accepted(await PostBundle(Host.As($"{Home} physician"), bundle));
    }

    private const string ConditionJson =
        """{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:6f1c2e00-0000-4000-8000-000000000001"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes"}],"text":"Diabetes"},"onsetDateTime":"2010-03-04T10:00:00Z"}""";

    /// <summary>A patient (identified by <paramref name="mrn"/>) with a condition, a vital sign, a procedure, a survey and a claim.</summary>
    private static string Bundle(string mrn) => $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:test:mrn","value":"{{{mrn}}}"}],
            "name":[{"use":"official","family":"Example","given":["Fhir"]}],"gender":"female","birthDate":"1980-05-06"},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000002","resource":{{{ConditionJson}}},"request":{"method":"POST","url":"Condition"}},
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000003","resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"effectiveDateTime":"2020-01-01T00:00:00Z","valueQuantity":{"value":70,"unit":"/min"}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000004","resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"44249-1","display":"PHQ-9"}]}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000005","resource":{"resourceType":"Procedure","status":"completed","subject":{"reference":"urn:uuid:6f1c2e00-0000-4000-8000-000000000001"},
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"73761001","display":"Colonoscopy"}]}},"request":{"method":"POST","url":"Procedure"}},
          {"fullUrl":"urn:uuid:6f1c2e00-0000-4000-8000-000000000006","resource":{"resourceType":"Claim","status":"active","use":"claim","created":"2020-01-01","patient":{"reference":"urn:uuid:6f1c2e00-0000-4000-8000-000000000001"},
            "provider":{"display":"H"},"priority":{"coding":[{"code":"normal"}]},"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"X"}}],
            "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]}},"request":{"method":"POST","url":"Claim"}}
        ]}
        """;
}
