using System.Net;
using System.Text;
using System.Text.Json;
using HealthEvents.Api.Fhir;
using HealthEvents.Domain.Common;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The project's own small FHIR R4 fixtures: a transaction bundle for one patient (identified by an MRN) around the
/// resources a test names, each resource written out as JSON, and the calls the FHIR tests make.
/// </summary>
public static class FhirTestBundles
{
    public const string Home = "northside";

    /// <summary>The Patient's fullUrl in every bundle here: the resources' subject.</summary>
    public const string PatientUrl = "urn:uuid:7e570000-0000-4000-8000-000000000001";

    public const string Subject = $$"""{"reference":"{{PatientUrl}}"}""";

    /// <summary>A transaction bundle: the Patient with <paramref name="mrn"/>, then each resource under a fresh urn:uuid.</summary>
    public static string Transaction(string mrn, params string[] resources) =>
        Bundle("transaction", mrn, [.. resources.Select(r => (r, $"urn:uuid:{Guid.NewGuid()}"))]);

    /// <summary>A bundle of <paramref name="type"/> with the Patient, then each resource under the fullUrl given with it.</summary>
    public static string Bundle(string type, string mrn, params (string Resource, string FullUrl)[] resources)
    {
        var entries = new List<string> { Entry(Patient(mrn), PatientUrl) };
        entries.AddRange(resources.Select(r => Entry(r.Resource, r.FullUrl)));
        return $$"""{"resourceType":"Bundle","type":"{{type}}","entry":[{{string.Join(",", entries)}}]}""";
    }

    public static string Patient(string mrn) =>
        $$"""{"resourceType":"Patient","identifier":[{"system":"urn:test:mrn","value":"{{mrn}}"}],"name":[{"family":"Fixture","given":["Fhir"]}],"gender":"female","birthDate":"1975-04-03"}""";

    private static string Entry(string resource, string fullUrl)
    {
        var type = JsonDocument.Parse(resource).RootElement.GetProperty("resourceType").GetString();
        return $$$"""{"fullUrl":"{{{fullUrl}}}","resource":{{{resource}}},"request":{"method":"POST","url":"{{{type}}}"}}""";
    }

    /// <summary>A Condition coded <paramref name="system"/>|<paramref name="code"/>, with optional extra properties (JSON members).</summary>
    public static string Condition(string system, string code, string display, string extra = "") =>
        $$"""{"resourceType":"Condition",{{extra}}"code":{"coding":[{"system":"{{system}}","code":"{{code}}","display":"{{display}}"}]},"subject":{{Subject}}}""";

    public static string Snomed(string code, string display, string extra = "") => Condition("http://snomed.info/sct", code, display, extra);

    /// <summary>An Observation of an observation-category with a LOINC code.</summary>
    public static string Observation(string category, string loinc, string display, string extra = "") =>
        $$"""{"resourceType":"Observation","status":"final",{{extra}}"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"{{category}}"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"{{loinc}}","display":"{{display}}"}]},"subject":{{Subject}},"effectiveDateTime":"2021-02-03T04:05:06Z"}""";

    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string bundle, string mediaType = "application/fhir+json") =>
        client.PostAsync("/fhir", new StringContent(bundle, Encoding.UTF8, mediaType));

    /// <summary>Imports <paramref name="bundle"/> (200 expected) and reads the transaction-response.</summary>
    public static async Task<(FhirImportSummary Summary, JsonElement Answer)> ImportAsync(HttpClient client, string bundle)
    {
        var response = await PostAsync(client, bundle);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        var answer = JsonDocument.Parse(text).RootElement.Clone();
        return (FhirImportSummary.Read(answer), answer);
    }

    /// <summary>A token for the imported patient (their home hospital vouches for them).</summary>
    public static HttpClient PatientClient(ServiceHost host, Guid patientId) =>
        host.Client(host.Mint(Home, $"fhir-patient-{patientId:N}", Role.Patient, patientId));

    /// <summary>The entries a caller's access for <paramref name="purpose"/> to <paramref name="categories"/> releases.</summary>
    public static async Task<IReadOnlyList<JsonElement>> EntriesAsync(HttpClient client, Guid patientId, string purpose, params string[] categories)
    {
        var response = await client.PostJsonAsync($"/patients/{patientId}/access", new { purpose, categories });
        var body = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        return [.. body.GetProperty("entries").EnumerateArray()];
    }

    /// <summary>What the transaction-response says of the bundle entry at <paramref name="index"/>: status and outcome code.</summary>
    public static (string Status, string? Location, string Outcome) ResponseOf(JsonElement answer, int index)
    {
        var response = answer.GetProperty("entry")[index].GetProperty("response");
        var outcome = response.GetProperty("outcome").GetProperty("issue")[0].GetProperty("details").GetProperty("coding")[0].GetProperty("code").GetString()!;
        return (response.GetProperty("status").GetString()!, response.TryGetProperty("location", out var l) ? l.GetString() : null, outcome);
    }
}
