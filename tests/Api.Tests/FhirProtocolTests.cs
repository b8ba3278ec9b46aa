using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static HealthEvents.Api.Tests.FhirTestBundles;
using Task = System.Threading.Tasks.Task;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The FHIR HTTP protocol of /fhir (issue 14's findings): what is not a bundle is a 400 OperationOutcome naming where,
/// never a 500; FHIR JSON only, matched as HTTP says; the transaction-response and the CapabilityStatement valid R4;
/// what the server cannot honour — $everything's parameters, a modifierExtension — refused rather than ignored.
/// </summary>
public sealed class FhirProtocolTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    private HttpClient Physician => Host.As($"{Home} physician");

    private static string Valid(string mrn) => Transaction(mrn, Snomed("195967001", "Asthma"));

    private static async Task<JsonElement> RefusedAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {text}");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var outcome = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal("OperationOutcome", outcome.GetProperty("resourceType").GetString());
        Assert.Equal("error", outcome.GetProperty("issue")[0].GetProperty("severity").GetString());
        return outcome;
    }

    [Fact]
    public async Task Bodies_that_are_no_bundle_are_400_OperationOutcomes_naming_where_never_500()
    {
        var before = await Host.CountsAsync();
        // Each body, and the expression its first issue names (null: the whole body).
        var cases = new (string Body, string? Expression)[]
        {
            ("[1,2,3]", null),
            ("""[{"resourceType":"Bundle"}]""", null),
            ("\"hello\"", null),
            ("null", null),
            ("""{"resourceType":"Patient"}""", "resourceType"),
            (Valid("surrogate-1").Replace("\"Fhir\"", "\"Fh\\ud800ir\""), "Bundle.entry[0].resource.name[0].given[0]"),
            (Valid("date-1").Replace("1975-04-03", "1975-13-45"), "Bundle.entry[0].resource.birthDate"),
            (Valid("unknown-1").Replace("\"resourceType\":\"Condition\",", "\"resourceType\":\"Condition\",\"colour\":\"red\","), "Bundle.entry[1].resource.colour"),
            ("""{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}},]}""", null),
        };
        foreach (var (body, expression) in cases)
        {
            var outcome = await RefusedAsync(await PostAsync(Physician, body), HttpStatusCode.BadRequest);
            var issue = outcome.GetProperty("issue")[0];
            if (expression is not null)
                Assert.True(issue.TryGetProperty("expression", out var e) && e[0].GetString() == expression, $"{body[..Math.Min(60, body.Length)]}: {issue}");
            // The bundle's values are never quoted back.
            Assert.DoesNotContain("13-45", outcome.ToString());
        }
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task The_media_type_matches_whatever_its_case_a_byte_order_mark_is_skipped_and_other_charsets_or_encodings_are_415()
    {
        var upper = new StringContent(Valid("case-1"), Encoding.UTF8);
        upper.Headers.ContentType = MediaTypeHeaderValue.Parse("Application/FHIR+JSON; charset=UTF-8");
        Assert.Equal(HttpStatusCode.OK, (await Physician.PostAsync("/fhir", upper)).StatusCode);

        var bom = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid("bom-1"))]);
        bom.Headers.ContentType = new MediaTypeHeaderValue("application/fhir+json");
        var withBom = await Physician.PostAsync("/fhir", bom);
        Assert.True(withBom.StatusCode == HttpStatusCode.OK, await withBom.Content.ReadAsStringAsync());

        var before = await Host.CountsAsync();
        var latin1 = new StringContent(Valid("latin-1"), Encoding.Latin1);
        latin1.Headers.ContentType = MediaTypeHeaderValue.Parse("application/fhir+json; charset=iso-8859-1");
        await RefusedAsync(await Physician.PostAsync("/fhir", latin1), HttpStatusCode.UnsupportedMediaType);
        var gzip = new StringContent(Valid("gzip-1"), Encoding.UTF8, "application/fhir+json");
        gzip.Headers.ContentEncoding.Add("gzip");
        await RefusedAsync(await Physician.PostAsync("/fhir", gzip), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task Asking_for_anything_but_FHIR_JSON_is_406_on_every_FHIR_route()
    {
        var before = await Host.CountsAsync();
        foreach (var accept in new[] { "application/fhir+xml", "application/xml, text/html" })
        {
            var post = new HttpRequestMessage(HttpMethod.Post, "/fhir") { Content = new StringContent(Valid("xml-1"), Encoding.UTF8, "application/fhir+json") };
            post.Headers.Accept.ParseAdd(accept);
            await RefusedAsync(await Physician.SendAsync(post), HttpStatusCode.NotAcceptable);
            var metadata = new HttpRequestMessage(HttpMethod.Get, "/fhir/metadata");
            metadata.Headers.Accept.ParseAdd(accept);
            await RefusedAsync(await Host.Client().SendAsync(metadata), HttpStatusCode.NotAcceptable);
        }
        await RefusedAsync(await Host.Client().GetAsync("/fhir/metadata?_format=xml"), HttpStatusCode.NotAcceptable);
        Assert.Equal(before, await Host.CountsAsync());

        foreach (var accept in new[] { "application/fhir+json", "application/json", "*/*", "application/fhir+xml;q=0.9, application/fhir+json" })
        {
            var metadata = new HttpRequestMessage(HttpMethod.Get, "/fhir/metadata?_format=json");
            metadata.Headers.Accept.ParseAdd(accept);
            Assert.Equal(HttpStatusCode.OK, (await Host.Client().SendAsync(metadata)).StatusCode);
        }
    }

    [Fact]
    public async Task Everything_refuses_the_parameters_it_does_not_support_and_records_nothing()
    {
        var (summary, _) = await ImportAsync(Physician, Valid($"params-{Guid.NewGuid():N}"));
        var patient = PatientClient(Host, summary.PatientId);
        var length = await Host.StreamLengthAsync(summary.PatientId);
        foreach (var query in new[] { "_type=Condition", "_count=10", "_since=2020-01-01T00:00:00Z", "start=2020-01-01", "end=2021-01-01" })
        {
            var outcome = await RefusedAsync(await patient.GetAsync($"/fhir/Patient/{summary.PatientId}/$everything?{query}"), HttpStatusCode.BadRequest);
            Assert.Equal(query.Split('=')[0], outcome.GetProperty("issue")[0].GetProperty("expression")[0].GetString());
        }
        // Refused before the access is decided: nothing is on the patient's trail.
        Assert.Equal(length, await Host.StreamLengthAsync(summary.PatientId));
        Assert.Equal(HttpStatusCode.OK, (await patient.GetAsync($"/fhir/Patient/{summary.PatientId}/$everything")).StatusCode);
    }

    [Fact]
    public async Task A_modifier_extension_or_implicit_rules_refuse_the_bundle_whole()
    {
        var before = await Host.CountsAsync();
        var modifier = Transaction("modifier-1", Snomed("195967001", "Asthma", """
            "modifierExtension":[{"url":"urn:test:negated","valueBoolean":true}],
            """));
        var outcome = await RefusedAsync(await PostAsync(Physician, modifier), HttpStatusCode.BadRequest);
        Assert.Equal("not-supported", outcome.GetProperty("issue")[0].GetProperty("code").GetString());
        Assert.Equal("Bundle.entry[1].resource.modifierExtension", outcome.GetProperty("issue")[0].GetProperty("expression")[0].GetString());

        var rules = Transaction("rules-1", Snomed("195967001", "Asthma", """ "implicitRules":"urn:test:local-rules", """));
        outcome = await RefusedAsync(await PostAsync(Physician, rules), HttpStatusCode.BadRequest);
        Assert.Equal("Bundle.entry[1].resource.implicitRules", outcome.GetProperty("issue")[0].GetProperty("expression")[0].GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task A_transaction_is_answered_by_a_valid_transaction_response_and_a_batch_by_a_batch_response_one_entry_each()
    {
        foreach (var (type, answerType) in new[] { ("transaction", "transaction-response"), ("batch", "batch-response") })
        {
            var bundle = Bundle(type, $"{type}-{Guid.NewGuid():N}",
                (Snomed("195967001", "Asthma"), $"urn:uuid:{Guid.NewGuid()}"),
                ("""{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":""" + Subject + "}",
                    $"urn:uuid:{Guid.NewGuid()}"));
            var (summary, answer) = await ImportAsync(Physician, bundle);
            Assert.Equal(answerType, answer.GetProperty("type").GetString());
            Assert.Equal(3, answer.GetProperty("entry").GetArrayLength());
            Assert.Equal(("201 Created", $"Patient/{summary.PatientId}", "registered"), ResponseOf(answer, 0));
            Assert.Equal("201 Created", ResponseOf(answer, 1).Status);
            Assert.Equal(("422 Unprocessable Entity", null, "skipped"), ResponseOf(answer, 2));
            // Strict FHIR R4 and the base profiles: no error (the summary extension, ours, is at most a warning).
            Assert.Empty(FhirValidation.Errors(answer.GetRawText()));
        }
    }

    [Fact]
    public async Task The_capability_statement_says_what_the_server_does_to_anyone()
    {
        var response = await Host.Client().GetAsync("/fhir/metadata");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync();
        Assert.Empty(FhirValidation.Errors(json));
        var statement = new FhirJsonDeserializer().Deserialize<CapabilityStatement>(json);
        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        Assert.Equal(new[] { "application/fhir+json", "json" }, statement.Format);
        var rest = Assert.Single(statement.Rest);
        Assert.Equal(new[] { CapabilityStatement.SystemRestfulInteraction.Transaction, CapabilityStatement.SystemRestfulInteraction.Batch },
            rest.Interaction.Select(i => i.Code!.Value));
        var patient = Assert.Single(rest.Resource);
        Assert.Equal("Patient", patient.Type);
        Assert.Equal("http://hl7.org/fhir/OperationDefinition/Patient-everything", Assert.Single(patient.Operation).Definition);
    }
}
