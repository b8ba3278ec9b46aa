using System.Net;
using System.Text.Json;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Who sees which of a patient's consents (GET /patients/{id}/consents and /consents/fhir): the patient sees them all; a
/// practitioner only those that name them — as themselves, by their role, or by their hospital. A consent to someone
/// else tells what is shared and with whom: a mental-health consent to another hospital's nurse tells that there is
/// mental-health data to share.
/// </summary>
public sealed class ConsentVisibilityTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    private async Task<(Guid Id, HttpClient Patient)> PatientWithThreeConsentsAsync()
    {
        var (id, patient) = await Host.NewPatientAsync("Vera Visible");
        foreach (var (kind, grantee, category) in new[] { ("hospital", "riverside", "allergies"), ("practitioner", "lakeside-nurse", "mental-health"), ("role", "home-care", "medications") })
        {
            var granted = await patient.PostJsonAsync($"/patients/{id}/consents",
                new { grantee = new { kind, id = grantee }, categories = new[] { category }, purposes = new[] { "treatment" }, actions = new[] { "read" } });
            Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        }
        return (id, patient);
    }

    private static async Task<List<(string Grantee, string Category)>> ActiveAsync(HttpClient client, Guid id)
    {
        var response = await client.GetAsync($"/patients/{id}/consents");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = await response.JsonAsync();
        Assert.Empty(view.GetProperty("upcoming").EnumerateArray());
        Assert.Empty(view.GetProperty("past").EnumerateArray());
        return [.. view.GetProperty("active").EnumerateArray()
            .Select(c => ($"{c.GetProperty("grantee").GetProperty("kind").GetString()}:{c.GetProperty("grantee").GetProperty("id").GetString()}",
                c.GetProperty("categories")[0].GetString()!))
            .OrderBy(c => c.Item1)];
    }

    [Fact]
    public async Task The_patient_sees_every_consent_and_a_grantee_only_those_that_name_them()
    {
        var (id, patient) = await PatientWithThreeConsentsAsync();

        Assert.Equal([("hospital:riverside", "allergies"), ("practitioner:lakeside-nurse", "mental-health"), ("role:home-care", "medications")],
            await ActiveAsync(patient, id));
        // By their hospital: Riverside's physician does not learn of the mental-health consent to Lakeside's nurse.
        Assert.Equal([("hospital:riverside", "allergies")], await ActiveAsync(Host.As("riverside physician"), id));
        // By name.
        Assert.Equal([("practitioner:lakeside-nurse", "mental-health")], await ActiveAsync(Host.As("lakeside nurse"), id));
        // By role, and by hospital: both name Riverside's home-care nurse.
        Assert.Equal([("hospital:riverside", "allergies"), ("role:home-care", "medications")], await ActiveAsync(Host.As("riverside home-care"), id));
        // Named by none: not a grantee, so nothing at all.
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("lakeside physician").GetAsync($"/patients/{id}/consents")).StatusCode);
    }

    /// <summary>
    /// A consent id is the client's choice and unique only within one patient's stream: another patient granting a consent
    /// under the same id must not overwrite hers in the view, and her revoking it must not revoke theirs.
    /// </summary>
    [Fact]
    public async Task Another_patients_consent_under_the_same_id_leaves_hers_as_it_is()
    {
        var consentId = Guid.NewGuid();
        var (vera, veraClient) = await Host.NewPatientAsync("Vera Same-Id");
        var (mallory, malloryClient) = await Host.NewPatientAsync("Mallory Same-Id");
        foreach (var (id, client, category) in new[] { (vera, veraClient, "allergies"), (mallory, malloryClient, "medications") })
        {
            using var granted = await client.PostJsonAsync($"/patients/{id}/consents", new
            {
                consentId, grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { category }, purposes = new[] { "treatment" }, actions = new[] { "read" },
            });
            Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        }
        Assert.Equal([("hospital:riverside", "allergies")], await ActiveAsync(veraClient, vera));

        using (var revoked = await veraClient.DeleteAsync($"/patients/{vera}/consents/{consentId}"))
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal([("hospital:riverside", "medications")], await ActiveAsync(malloryClient, mallory));
        var hers = await (await veraClient.GetAsync($"/patients/{vera}/consents")).JsonAsync();
        Assert.Equal(["allergies"], hers.GetProperty("past").EnumerateArray().Select(c => c.GetProperty("categories")[0].GetString()));
    }

    [Fact]
    public async Task The_FHIR_export_holds_the_same_consents_as_the_list()
    {
        var (id, patient) = await PatientWithThreeConsentsAsync();

        var all = await FhirConsentsAsync(patient, id);
        Assert.Equal(3, all.Count);
        Assert.Contains(all, text => text.Contains("mental-health", StringComparison.Ordinal));

        var riverside = Assert.Single(await FhirConsentsAsync(Host.As("riverside physician"), id));
        Assert.Contains("allergies", riverside);
        Assert.DoesNotContain("mental-health", riverside);
        Assert.DoesNotContain("lakeside", riverside);
    }

    /// <summary>The Consent resources of the FHIR Bundle, each as its JSON text.</summary>
    private static async Task<List<string>> FhirConsentsAsync(HttpClient client, Guid id)
    {
        var response = await client.GetAsync($"/patients/{id}/consents/fhir");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var bundle = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. bundle.RootElement.GetProperty("entry").EnumerateArray()
            .Select(e => e.GetProperty("resource"))
            .Where(r => r.GetProperty("resourceType").GetString() == "Consent")
            .Select(r => r.GetRawText())];
    }
}
