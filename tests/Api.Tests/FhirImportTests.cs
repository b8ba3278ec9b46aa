using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using HealthEvents.Api.Endpoints;
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

    private static async Task<JsonElement> Accepted(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.JsonAsync();
    }

    /// <summary>How many resources the summary reports skipped under <paramref name="label"/> (a type, alone or with its reason).</summary>
    private static int Skipped(JsonElement summary, string label) =>
        summary.GetProperty("skipped").EnumerateArray()
            .Where(s => s.GetProperty("type").GetString() is { } t && (t == label || t.StartsWith(label + " (", StringComparison.Ordinal)))
            .Sum(s => s.GetProperty("count").GetInt32());

    [SkippableFact]
    public async Task Every_sample_patient_imports_once_round_trips_through_everything_and_shows_in_trail_records_research_and_verification()
    {
        var folder = SamplesFolder;
        Skip.If(folder is null, "../shared/fhir-samples/synthea-r4 is not there: no sample patients to import");
        var physician = Host.As($"{Home} physician");
        var clock = Stopwatch.StartNew();
        var resources = 0;
        // Distinct patients per SNOMED CT condition code, as the research projection must count them.
        var patientsByCondition = new Dictionary<string, HashSet<Guid>>(StringComparer.Ordinal);
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
            var inBundle = JsonDocument.Parse(bundle).RootElement.GetProperty("entry").EnumerateArray().ToList();
            Assert.Equal(inBundle.Count - 1, added + summary.GetProperty("skipped").EnumerateArray().Sum(s => s.GetProperty("count").GetInt32()));
            resources += added;

            // The records view (the patient's own access): every entry, each the resource's own JSON.
            var patient = Host.Client(Host.Mint(Home, $"fhir-{patientId}", Role.Patient, patientId));
            var access = await Accepted(await patient.PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = Categories }));
            var entries = access.GetProperty("entries").EnumerateArray().ToList();
            Assert.Equal(added, entries.Count);
            Assert.All(entries, e => Assert.Equal("application/fhir+json", e.GetProperty("contentType").GetString()));

            // Out again: $everything gives back every imported resource, each equal as JSON to what came in, under its fullUrl.
            var everything = await Everything(patient, patientId);
            Assert.Equal("searchset", everything.GetProperty("type").GetString());
            var returned = everything.GetProperty("entry").EnumerateArray()
                .Where(e => e.GetProperty("search").GetProperty("mode").GetString() == "match").ToList();
            Assert.Equal(added, returned.Count);
            Assert.Equal(added, everything.GetProperty("total").GetInt32());
            var sent = inBundle.ToDictionary(e => e.GetProperty("fullUrl").GetString()!, e => e.GetProperty("resource"));
            foreach (var e in returned)
            {
                var fullUrl = e.GetProperty("fullUrl").GetString()!;
                Assert.True(sent.TryGetValue(fullUrl, out var original), $"{Path.GetFileName(file)}: {fullUrl} was not sent");
                Assert.True(JsonElement.DeepEquals(original, e.GetProperty("resource")), $"{Path.GetFileName(file)}: {fullUrl} differs from what was sent");
            }
            Assert.Equal(added, returned.Select(e => e.GetProperty("fullUrl").GetString()).Distinct().Count());

            // The audit view, as the patient sees it: registered once, every entry added, both reads recorded.
            Assert.Equal(added, await CountTrailAsync(patient, patientId, "entry-added"));
            Assert.Equal(1, await CountTrailAsync(patient, patientId, "patient-registered"));
            Assert.Equal(2, await CountTrailAsync(patient, patientId, "access-granted"));

            // Sent again: a no-op.
            var before = await Host.CountsAsync();
            var again = await (await PostBundle(physician, bundle)).JsonAsync();
            Assert.False(again.GetProperty("registered").GetBoolean());
            Assert.Equal(0, again.GetProperty("added").GetInt32());
            Assert.Equal(before, await Host.CountsAsync());

            // The patient's history verifies: hash links, every endorsement, the policy of its time.
            var verification = await (await patient.GetAsync($"/patients/{patientId}/verification")).JsonAsync();
            Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());

            // Research: the patient lets researchers count their conditions.
            await Accepted(await patient.PostJsonAsync($"/patients/{patientId}/consents", new
            {
                grantee = new { kind = "role", id = "researcher" }, categories = new[] { "conditions" }, purposes = new[] { "research" }, actions = new[] { "read" },
            }), HttpStatusCode.Created);
            foreach (var condition in inBundle.Select(e => e.GetProperty("resource")).Where(r => r.GetProperty("resourceType").GetString() == "Condition"))
            {
                var coding = condition.GetProperty("code").GetProperty("coding").EnumerateArray().First(c => c.TryGetProperty("system", out _) && c.TryGetProperty("code", out _));
                var key = $"{coding.GetProperty("system").GetString()}|{coding.GetProperty("code").GetString()}";
                if (!patientsByCondition.TryGetValue(key, out var set)) patientsByCondition[key] = set = [];
                set.Add(patientId);
            }
        }
        output.WriteLine($"Imported {resources} resources in {clock.Elapsed.TotalSeconds:F1} s (with the checks and a second sending each).");

        // A research projection grouped by condition code counts each code's patients as the bundles hold them (k = 2).
        var researcher = Host.As("researcher");
        await Accepted(await researcher.PostJsonAsync("/research/projections",
            new { name = "fhir-samples-by-condition", filter = new { categories = new[] { "conditions" } }, groupBy = new[] { "code" }, k = 2 }), HttpStatusCode.Created);
        var live = await LiveResearchAsync(researcher, "fhir-samples-by-condition");
        var rows = live.GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("group").GetProperty("code").GetString()!, r => r);
        foreach (var (code, patients) in patientsByCondition)
        {
            Assert.True(rows.TryGetValue(code, out var row), $"no row for {code}");
            if (patients.Count < 2) Assert.True(row.GetProperty("suppressed").GetBoolean(), $"{code}: {patients.Count} patient(s) must be suppressed");
            if (!row.GetProperty("suppressed").GetBoolean()) Assert.Equal(patients.Count, row.GetProperty("count").GetInt32());
        }
        // The demo's own patients (ICD-10 codes) aside, nothing else is counted.
        Assert.Empty(rows.Keys.Where(k => k.StartsWith("http://snomed.info/sct|", StringComparison.Ordinal)).Except(patientsByCondition.Keys));
        Assert.True(rows.Values.Count(r => !r.GetProperty("suppressed").GetBoolean()) > 0, "some condition is shared by two sample patients");
    }

    [SkippableFact]
    public async Task A_practitioner_with_a_consent_gets_the_released_categories_only_and_the_read_is_on_the_trail()
    {
        var summary = await Accepted(await PostBundle(Host.As($"{Home} physician"), Bundle("consented-1")));
        var patientId = summary.GetProperty("patientId").GetGuid();
        var patient = Host.Client(Host.Mint(Home, "fhir-consented-1", Role.Patient, patientId));
        var riverside = Host.As("riverside physician");

        // Without a consent: refused as an OperationOutcome, and the refusal is on the patient's trail.
        var before = await Host.StreamLengthAsync(patientId);
        var refused = await riverside.GetAsync($"/fhir/Patient/{patientId}/$everything");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/fhir+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("OperationOutcome", (await refused.JsonAsync()).GetProperty("resourceType").GetString());
        Assert.Equal(before + 1, await Host.StreamLengthAsync(patientId));
        Assert.Equal(1, await CountTrailAsync(patient, patientId, "access-denied"));

        // With a consent to conditions: the Condition, not the vital sign or the procedure; the others named as withheld.
        await Accepted(await patient.PostJsonAsync($"/patients/{patientId}/consents", new
        {
            grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" }, purposes = new[] { "treatment" }, actions = new[] { "read" },
        }), HttpStatusCode.Created);
        var everything = await Everything(riverside, patientId);
        var entries = everything.GetProperty("entry").EnumerateArray().ToList();
        var match = Assert.Single(entries, e => e.GetProperty("search").GetProperty("mode").GetString() == "match");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(ConditionJson).RootElement, match.GetProperty("resource")));
        Assert.Equal("urn:uuid:6f1c2e00-0000-4000-8000-000000000002", match.GetProperty("fullUrl").GetString());
        var outcome = Assert.Single(entries, e => e.GetProperty("search").GetProperty("mode").GetString() == "outcome").GetProperty("resource");
        Assert.Contains("vital-signs", outcome.GetProperty("issue")[0].GetProperty("diagnostics").GetString());

        var granted = await (await patient.GetAsync($"/patients/{patientId}/audit?action=access-granted")).JsonAsync();
        var read = Assert.Single(granted.GetProperty("items").EnumerateArray(), i => i.GetProperty("actor").GetProperty("id").GetString() == "riverside-physician");
        Assert.Equal(["conditions"], read.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Everything_about_a_patient_nobody_registered_is_a_404_OperationOutcome()
    {
        var response = await Host.As($"{Home} physician").GetAsync($"/fhir/Patient/{Guid.NewGuid()}/$everything");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("OperationOutcome", (await response.JsonAsync()).GetProperty("resourceType").GetString());
    }

    private static async Task<JsonElement> Everything(HttpClient client, Guid patientId)
    {
        var response = await client.GetAsync($"/fhir/Patient/{patientId}/$everything");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        return await response.JsonAsync();
    }

    /// <summary>How many items of one action the patient's trail holds, across its pages.</summary>
    private static async Task<int> CountTrailAsync(HttpClient patient, Guid patientId, string action)
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await (await patient.GetAsync($"/patients/{patientId}/audit?action={action}&limit=200"
                                                     + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"))).JsonAsync();
            count += page.GetProperty("items").GetArrayLength();
            cursor = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        } while (cursor is not null);
        return count;
    }

    private static async Task<JsonElement> LiveResearchAsync(HttpClient researcher, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var body = await Accepted(await researcher.GetAsync($"/research/projections/{name}"));
            if (body.GetProperty("status").GetString() == "live") return body;
            Assert.True(DateTime.UtcNow < deadline, "the research projection did not become live");
            await Task.Delay(100);
        }
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
    public async Task Another_hospital_sending_a_known_identifier_gets_the_answer_an_unknown_one_gets_and_never_reaches_that_patient()
    {
        var home = await Accepted(await PostBundle(Host.As($"{Home} physician"), Bundle("foreign-1")));
        var homePatient = home.GetProperty("patientId").GetGuid();
        var homeLength = await Host.StreamLengthAsync(homePatient);
        var riverside = Host.As("riverside physician");

        var known = await Accepted(await PostBundle(riverside, Bundle("foreign-1")));
        var unknown = await Accepted(await PostBundle(riverside, Bundle($"foreign-{Guid.NewGuid():N}")));

        // Whether northside holds the identifier or nobody does, riverside registers a patient of its own: same answer.
        foreach (var answer in new[] { known, unknown })
        {
            Assert.True(answer.GetProperty("registered").GetBoolean());
            Assert.Equal(3, answer.GetProperty("added").GetInt32());
        }
        var riversidePatient = known.GetProperty("patientId").GetGuid();
        Assert.NotEqual(homePatient, riversidePatient);
        Assert.Equal(homeLength, await Host.StreamLengthAsync(homePatient));
        // That patient is riverside's: its own patient token reads the record, northside's practitioners need a consent.
        var own = Host.Client(Host.Mint("riverside", "fhir-foreign-1", Role.Patient, riversidePatient));
        Assert.Equal(3, (await Accepted(await own.PostJsonAsync($"/patients/{riversidePatient}/access", new { purpose = "treatment", categories = Categories })))
            .GetProperty("entries").GetArrayLength());
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As($"{Home} physician").GetAsync($"/fhir/Patient/{riversidePatient}/$everything")).StatusCode);
    }

    [Fact]
    public async Task A_bundle_breaking_a_base_profile_rule_is_refused_whole_with_the_validators_issues()
    {
        var before = await Host.CountsAsync();
        // qty-3: a Quantity with a unit code needs its system; the strict parser accepts it, the base profile does not.
        var bundle = Bundle("invalid-1").Replace("\"valueQuantity\":{\"value\":70,\"unit\":\"/min\"}", "\"valueQuantity\":{\"value\":70,\"unit\":\"/min\",\"code\":\"/min\"}");
        var response = await PostBundle(Host.As($"{Home} physician"), bundle);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var issues = (await response.JsonAsync()).GetProperty("issue").EnumerateArray().ToList();
        var invariant = Assert.Single(issues, i => i.GetProperty("diagnostics").GetString()!.Contains("qty-3"));
        Assert.Equal("error", invariant.GetProperty("severity").GetString());
        Assert.StartsWith("Bundle.entry[2].resource", invariant.GetProperty("expression")[0].GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task Profiles_and_extensions_the_base_specification_lacks_are_warnings_and_the_bundle_is_imported()
    {
        var bundle = Bundle("profiled-1").Replace("\"resourceType\":\"Patient\",",
            "\"resourceType\":\"Patient\",\"meta\":{\"profile\":[\"http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient\"]}," +
            "\"extension\":[{\"url\":\"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex\",\"valueCode\":\"F\"}],");
        var summary = await Accepted(await PostBundle(Host.As($"{Home} physician"), bundle));

        Assert.Equal(3, summary.GetProperty("added").GetInt32());
        var warnings = summary.GetProperty("warnings").EnumerateArray().Select(w => w.GetProperty("message").GetString()!).ToList();
        Assert.Contains(warnings, w => w.Contains("profile"));
        Assert.Contains(warnings, w => w.Contains("extension"));
        // Masked: the validator's quotes of the bundle's values (here the URLs) never come back.
        Assert.DoesNotContain(warnings, w => w.Contains("us-core"));
    }

    [Fact]
    public async Task Every_refusal_on_a_FHIR_route_is_an_OperationOutcome_whoever_refuses()
    {
        var physician = Host.As($"{Home} physician");
        var cases = new (string What, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status)[]
        {
            ("no token (authentication)", () => Host.Client().GetAsync($"/fhir/Patient/{Guid.NewGuid()}/$everything"), HttpStatusCode.Unauthorized),
            ("over the route's limit (Kestrel)", () => Oversized(physician), HttpStatusCode.RequestEntityTooLarge),
            ("not FHIR JSON (the endpoint)", () => physician.PostAsync("/fhir", new StringContent("<Bundle/>", Encoding.UTF8, "application/fhir+xml")), HttpStatusCode.UnsupportedMediaType),
            ("an admin's import (the decider)", () => PostBundle(Host.As($"{Home} admin"), Bundle("admin-1")), HttpStatusCode.Forbidden),
        };
        var before = await Host.CountsAsync();
        foreach (var (what, send, status) in cases)
        {
            var response = await send();
            Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode}");
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/fhir+json", $"{what}: {response.Content.Headers.ContentType}");
            var issue = (await response.JsonAsync()).GetProperty("issue")[0];
            Assert.Equal("error", issue.GetProperty("severity").GetString());
        }
        Assert.Equal(before, await Host.CountsAsync());
    }

    /// <summary>A body over the route's limit, sent after "100 Continue" only: refused by its length, before a byte is sent.</summary>
    private static Task<HttpResponseMessage> Oversized(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/fhir")
        {
            Content = new StringContent(new string(' ', (int)FhirEndpoints.MaxBundleBytes + 1), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.ExpectContinue = true;
        return client.SendAsync(request);
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
