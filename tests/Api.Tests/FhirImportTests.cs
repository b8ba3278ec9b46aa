using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using HealthEvents.Api.Endpoints;
using HealthEvents.Api.Fhir;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static HealthEvents.Api.Tests.FhirTestBundles;

namespace HealthEvents.Api.Tests;

/// <summary>
/// FHIR in (issue 14): POST /fhir with a transaction Bundle registers the patient and lands their record as entries,
/// in one or a few endorsed transactions; sending it again adds nothing; a bad bundle or a foreign hospital stores nothing.
/// </summary>
public sealed class FhirImportTests(DemoServiceFixture fixture, ITestOutputHelper output) : IClassFixture<DemoServiceFixture>
{
    /// <summary>Every category an import fills, the sensitive ones included: what the patient's own reads ask for.</summary>
    private static readonly string[] Categories =
        ["allergies", "medications", "conditions", "lab-results", "imaging", "vaccinations", "vital-signs", "procedures", "surveys",
         "mental-health", "sexual-health", "genetics"];

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

    private static Task<HttpResponseMessage> PostBundle(HttpClient client, string bundle) => PostAsync(client, bundle);

    private static async Task<JsonElement> Accepted(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.JsonAsync();
    }

    /// <summary>How many resources the answer reports skipped under <paramref name="label"/> (a type, alone or with its reason).</summary>
    private static int Skipped(FhirImportSummary summary, string label) =>
        summary.Skipped.Where(s => s.Key == label || s.Key.StartsWith(label + " (", StringComparison.Ordinal)).Sum(s => s.Value);

    /// <summary>The category the answer says the bundle entry at <paramref name="index"/> is filed under, or null.</summary>
    private static string? CategoryOf(JsonElement answer, int index) =>
        answer.GetProperty("entry")[index].GetProperty("response").GetProperty("outcome").GetProperty("issue")[0].GetProperty("details")
            .GetProperty("coding").EnumerateArray().Where(c => c.GetProperty("system").GetString() == FhirVocabulary.CategorySystem)
            .Select(c => c.GetProperty("code").GetString()).FirstOrDefault();

    /// <summary>How many events of each stored type the patient's stream holds.</summary>
    private async Task<IReadOnlyDictionary<string, int>> StreamTypesAsync(Guid patientId)
    {
        var store = Host.Services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var e in store.ReadStreamAsync($"patient-{patientId}")) types[e.Type] = types.GetValueOrDefault(e.Type) + 1;
        return types;
    }

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
            var (summary, answer) = await ImportAsync(physician, bundle);
            var patientId = summary.PatientId;
            var added = summary.Added;
            Assert.True(summary.Registered);
            Assert.Equal(summary.Resources, added);
            Assert.True(added > 0);
            // What is not mapped is reported by type, never dropped silently: the samples all carry claims.
            Assert.True(Skipped(summary, "Claim") > 0, string.Join(", ", summary.Skipped.Keys));
            // One answer per bundle entry, in order: the Patient, then each resource added or skipped.
            var inBundle = JsonDocument.Parse(bundle).RootElement.GetProperty("entry").EnumerateArray().ToList();
            Assert.Equal(inBundle.Count, answer.GetProperty("entry").GetArrayLength());
            Assert.Equal(inBundle.Count - 1, added + summary.Skipped.Values.Sum());
            resources += added;

            // The patient's own access: every entry, each the resource's own JSON.
            var patient = PatientClient(Host, patientId);
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
            var (again, _) = await ImportAsync(physician, bundle);
            Assert.False(again.Registered);
            Assert.Equal(0, again.Added);
            Assert.Equal(added, again.AlreadyPresent);
            Assert.Equal(before, await Host.CountsAsync());

            // The patient's history verifies: hash links, every endorsement, the policy of its time.
            var verification = await (await patient.GetAsync($"/patients/{patientId}/verification")).JsonAsync();
            Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());

            // Research: the patient lets researchers count their conditions.
            await Accepted(await patient.PostJsonAsync($"/patients/{patientId}/consents", new
            {
                grantee = new { kind = "role", id = "researcher" }, categories = new[] { "conditions" }, purposes = new[] { "research" }, actions = new[] { "read" },
            }), HttpStatusCode.Created);
            // Conditions the import filed under conditions (a sensitive one is filed elsewhere and never counted there).
            for (var i = 0; i < inBundle.Count; i++)
            {
                var resource = inBundle[i].GetProperty("resource");
                if (resource.GetProperty("resourceType").GetString() != "Condition" || CategoryOf(answer, i) != "conditions") continue;
                var coding = resource.GetProperty("code").GetProperty("coding").EnumerateArray().First(c => c.TryGetProperty("system", out _) && c.TryGetProperty("code", out _));
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
        var patientId = (await ImportAsync(Host.As($"{Home} physician"), Bundle("consented-1"))).Summary.PatientId;
        var patient = PatientClient(Host, patientId);
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
        var (summary, answer) = await ImportAsync(Host.As($"{Home} physician"), Bundle("map-1"));
        Assert.Equal(4, summary.Added);
        Assert.Equal(1, Skipped(summary, "Claim"));
        // One response per entry, in the bundle's order: 201 with the entry's location, 422 with the reason.
        Assert.Equal(("201 Created", $"Patient/{summary.PatientId}", "registered"), ResponseOf(answer, 0));
        Assert.Matches("^Condition/[0-9a-f-]{36}$", ResponseOf(answer, 1).Location);
        Assert.Equal(("422 Unprocessable Entity", null, "skipped"), ResponseOf(answer, 5));
        Assert.Equal("transaction-response", answer.GetProperty("type").GetString());
        var patientId = summary.PatientId;
        var access = await Accepted(await PatientClient(Host, patientId).PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = Categories }));
        var entries = access.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("code").GetString()!, e => e);
        Assert.Equal("conditions", entries["44054006"].GetProperty("category").GetString());
        Assert.Equal("vital-signs", entries["8867-4"].GetProperty("category").GetString());
        Assert.Equal("procedures", entries["73761001"].GetProperty("category").GetString());
        // A PHQ-9 is a survey, and a mental-health screening: filed under mental-health, which only a consent naming it releases.
        Assert.Equal("mental-health", entries["44249-1"].GetProperty("category").GetString());
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
        var homePatient = (await ImportAsync(Host.As($"{Home} physician"), Bundle("foreign-1"))).Summary.PatientId;
        var homeLength = await Host.StreamLengthAsync(homePatient);
        var riverside = Host.As("riverside physician");

        var (known, _) = await ImportAsync(riverside, Bundle("foreign-1"));
        var (unknown, _) = await ImportAsync(riverside, Bundle($"foreign-{Guid.NewGuid():N}"));

        // Whether northside holds the identifier or nobody does, riverside registers a patient of its own: same answer.
        foreach (var answer in new[] { known, unknown })
        {
            Assert.True(answer.Registered);
            Assert.Equal(4, answer.Added);
        }
        var riversidePatient = known.PatientId;
        Assert.NotEqual(homePatient, riversidePatient);
        Assert.Equal(homeLength, await Host.StreamLengthAsync(homePatient));
        // That patient is riverside's: its own patient token reads the record, northside's practitioners need a consent.
        var own = Host.Client(Host.Mint("riverside", "fhir-foreign-1", Role.Patient, riversidePatient));
        Assert.Equal(4, (await Accepted(await own.PostJsonAsync($"/patients/{riversidePatient}/access", new { purpose = "treatment", categories = Categories })))
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
        var (summary, answer) = await ImportAsync(Host.As($"{Home} physician"), bundle);

        Assert.Equal(4, summary.Added);
        // The warnings are in the outcome of the entry they are about: here the Patient's.
        var warnings = answer.GetProperty("entry")[0].GetProperty("response").GetProperty("outcome").GetProperty("issue").EnumerateArray()
            .Where(i => i.GetProperty("severity").GetString() == "warning").Select(i => i.GetProperty("diagnostics").GetString()!).ToList();
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

    private const string Added = "record.entry-added.v1", Amended = "record.entry-amended.v1", Retracted = "record.entry-retracted.v1";

    [Fact]
    public async Task A_resource_keeps_its_identity_across_exports_so_sending_it_again_corrects_its_entry_instead_of_adding_one()
    {
        var physician = Host.As($"{Home} physician");
        // Identified by its id, and by its business identifier: both survive a re-export that mints fresh urn:uuids.
        string Asthma(string note) => Snomed("195967001", "Asthma", $$"""
            "id":"cond-1","note":[{"text":"{{note}}"}],
            """);
        var glucose = Observation("laboratory", "2339-0", "Glucose", """
            "identifier":[{"system":"urn:test:lab-order","value":"L-1"}],"valueQuantity":{"value":5.5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},
            """);
        string Export(params string[] resources) => FhirTestBundles.Bundle("transaction", "identity-1", [.. resources.Select(r => (r, $"urn:uuid:{Guid.NewGuid()}"))]);
        var exported = Export(Asthma("v1"), glucose);
        var (first, _) = await ImportAsync(physician, exported);
        var patientId = first.PatientId;
        Assert.Equal(2, first.Added);

        // Sent again: already present, nothing stored.
        var before = await Host.CountsAsync();
        var (again, answer) = await ImportAsync(physician, exported);
        Assert.Equal((0, 2), (again.Added, again.AlreadyPresent));
        Assert.Equal(("200 OK", "already-present"), (ResponseOf(answer, 1).Status, ResponseOf(answer, 1).Outcome));
        Assert.Equal(before, await Host.CountsAsync());

        // Exported again, every fullUrl a fresh urn:uuid: the same two entries, their fullUrls renamed (so references
        // between resources keep resolving in $everything), not two more.
        var (reexported, reexportedAnswer) = await ImportAsync(physician, Export(Asthma("v1"), glucose));
        Assert.Equal((0, 2), (reexported.Added, reexported.Corrected));
        Assert.Equal(ResponseOf(answer, 2).Location, ResponseOf(reexportedAnswer, 2).Location);

        // New content under the same identity: a correction of the same entry (an amendment), not a second entry.
        var (corrected, correctedAnswer) = await ImportAsync(physician, Export(Asthma("v2, corrected"), glucose));
        Assert.Equal((0, 2), (corrected.Added, corrected.Corrected));
        Assert.Equal(ResponseOf(answer, 1).Location, ResponseOf(correctedAnswer, 1).Location);
        var patient = PatientClient(Host, patientId);
        var conditions = await EntriesAsync(patient, patientId, "treatment", Categories);
        var condition = Assert.Single(conditions, e => e.GetProperty("category").GetString() == "conditions");
        Assert.Contains("v2, corrected", condition.GetProperty("text").GetString());
        Assert.True(condition.GetProperty("amended").GetBoolean());

        // Another code for the same identity (here a depression): the entry is replaced — retracted, and a new one added
        // under the category the new code belongs to — since an amendment changes content only.
        var (replaced, _) = await ImportAsync(physician, Export(Snomed("35489007", "Depressive disorder", """ "id":"cond-1", """), glucose));
        Assert.Equal((1, 1), (replaced.Replaced, replaced.Corrected));
        var types = await StreamTypesAsync(patientId);
        Assert.Equal((3, 5, 1), (types[Added], types[Amended], types[Retracted]));
        var now = await EntriesAsync(patient, patientId, "treatment", Categories);
        Assert.DoesNotContain(now, e => e.GetProperty("category").GetString() == "conditions");
        Assert.Single(now, e => e.GetProperty("category").GetString() == "mental-health");

        // $everything: one resource per identity, each fullUrl once.
        var everything = await (await patient.GetAsync($"/fhir/Patient/{patientId}/$everything")).JsonAsync();
        var fullUrls = everything.GetProperty("entry").EnumerateArray().Where(e => e.GetProperty("search").GetProperty("mode").GetString() == "match")
            .Select(e => e.GetProperty("fullUrl").GetString()).ToList();
        Assert.Equal(2, fullUrls.Count);
        Assert.Equal(fullUrls.Count, fullUrls.Distinct().Count());
    }

    [Fact]
    public async Task A_bundle_naming_one_resource_twice_is_refused_whole()
    {
        var before = await Host.CountsAsync();
        var twice = Snomed("195967001", "Asthma", """ "id":"dup-1", """);
        var response = await PostAsync(Host.As($"{Home} physician"), Transaction("twice-1", twice, twice.Replace("Asthma", "Asthma (again)")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var issue = (await response.JsonAsync()).GetProperty("issue")[0];
        Assert.Equal(["Bundle.entry[1]", "Bundle.entry[2]"], issue.GetProperty("expression").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task Imports_of_one_new_patient_racing_each_other_all_succeed_and_store_everything_once()
    {
        var bundle = Transaction($"race-{Guid.NewGuid():N}", Snomed("195967001", "Asthma", """ "id":"race-c", """),
            Observation("vital-signs", "8867-4", "Heart rate", """ "id":"race-o", "valueQuantity":{"value":70,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}, """));
        var physician = Host.As($"{Home} physician");
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ImportAsync(physician, bundle)));

        var patientId = Assert.Single(answers.Select(a => a.Summary.PatientId).Distinct());
        Assert.Equal(1, answers.Count(a => a.Summary.Registered));
        Assert.Equal(2, answers.Sum(a => a.Summary.Added));
        Assert.All(answers, a => Assert.Equal(2, a.Summary.Added + a.Summary.AlreadyPresent));
        var types = await StreamTypesAsync(patientId);
        Assert.Equal((1, 2), (types["patient.registered.v1"], types[Added]));
    }

    [Fact]
    public async Task A_resource_about_another_patient_refuses_the_bundle_whole_naming_the_entry()
    {
        var before = await Host.CountsAsync();
        var physician = Host.As($"{Home} physician");
        foreach (var other in new[] { """{"reference":"Patient/someone-else"}""", """{"reference":"Patient?identifier=urn:test:mrn|another"}""",
                     """{"identifier":{"system":"urn:test:mrn","value":"another"}}""", """{"reference":"Group/ward-3"}""" })
        {
            var response = await PostAsync(physician, Transaction("subject-1",
                Snomed("195967001", "Asthma"), Snomed("38341003", "Hypertension").Replace(Subject, other)));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var issue = (await response.JsonAsync()).GetProperty("issue")[0];
            Assert.Equal("Bundle.entry[2].resource.subject", issue.GetProperty("expression")[0].GetString());
            Assert.Contains("Bundle.entry[2]", issue.GetProperty("diagnostics").GetString());
        }
        Assert.Equal(before, await Host.CountsAsync());

        // The Patient named by its identifier (a conditional or a logical reference) is the bundle's Patient: accepted.
        var (summary, _) = await ImportAsync(physician, Transaction("subject-1",
            Snomed("195967001", "Asthma").Replace(Subject, """{"reference":"Patient?identifier=urn:test:mrn|subject-1"}"""),
            Snomed("38341003", "Hypertension").Replace(Subject, """{"identifier":{"system":"urn:test:mrn","value":"subject-1"}}""")));
        Assert.Equal(2, summary.Added);
    }

    private const string ConditionJson =
        """{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:6f1c2e00-0000-4000-8000-000000000001"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes"}],"text":"Diabetes"},"onsetDateTime":"2010-03-04T10:00:00Z"}""";

    /// <summary>A patient (identified by <paramref name="mrn"/>) with a condition, a vital sign, a survey (a PHQ-9), a procedure and a claim.</summary>
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
