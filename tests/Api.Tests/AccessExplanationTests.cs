using System.Net;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// GET /patients/{id}/access/explain over HTTP against the seeded demo: the patient asks about anyone (not recorded), a
/// practitioner about themselves (recorded, endorsed, on the trail), and the answer is what an access request then gets.
/// </summary>
public sealed class AccessExplanationTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Guid Alice = AuthorizationTests.Alice;
    private ServiceHost Host => fixture.Host;

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(x => x.GetString()!)];

    [Fact]
    public async Task The_patient_learns_why_someone_can_or_cannot_see_each_category_and_nothing_is_recorded()
    {
        var alice = Host.As("alice (patient)");
        var before = await Host.StreamLengthAsync(Alice);

        var physician = await alice.GetAsync($"/patients/{Alice}/access/explain?grantee=riverside-physician&purpose=treatment&category=conditions&category=mental-health");
        Assert.Equal(HttpStatusCode.OK, physician.StatusCode);
        var answer = await physician.JsonAsync();
        Assert.Equal("partly-granted", answer.GetProperty("decision").GetString());
        Assert.Equal(["conditions"], Strings(answer.GetProperty("released")));
        Assert.Equal(["mental-health"], Strings(answer.GetProperty("withheld")));
        Assert.Equal("no active consent covers the request", answer.GetProperty("reason").GetString());
        Assert.Equal(("riverside-physician", "physician", "riverside"), (answer.GetProperty("grantee").GetProperty("id").GetString(),
            answer.GetProperty("grantee").GetProperty("role").GetString(), answer.GetProperty("grantee").GetProperty("hospital").GetString()));
        var consent = Assert.Single(answer.GetProperty("consents").EnumerateArray());
        Assert.Equal(("hospital", "riverside"), (consent.GetProperty("grantee").GetProperty("kind").GetString(), consent.GetProperty("grantee").GetProperty("id").GetString()));
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("receipt").ValueKind);

        // Anyone of a role at a hospital: Alice's consent to the home-care role covers medications at any hospital.
        var homeCare = await (await alice.GetAsync($"/patients/{Alice}/access/explain?granteeRole=home-care&granteeHospital=lakeside&purpose=treatment&category=medications,allergies")).JsonAsync();
        Assert.Equal("granted", homeCare.GetProperty("decision").GetString());
        Assert.Equal(JsonValueKind.Null, homeCare.GetProperty("grantee").GetProperty("id").ValueKind);
        Assert.Equal(["role"], homeCare.GetProperty("consents").EnumerateArray().Select(c => c.GetProperty("grantee").GetProperty("kind").GetString()));

        // A researcher is told the domain's own reason, though a research consent names their role.
        var researcher = await (await alice.GetAsync($"/patients/{Alice}/access/explain?grantee=researcher-1&purpose=research&category=conditions")).JsonAsync();
        Assert.Equal("denied", researcher.GetProperty("decision").GetString());
        Assert.Equal("researchers receive aggregates only", researcher.GetProperty("reason").GetString());

        Assert.Equal(before, await Host.StreamLengthAsync(Alice));
    }

    [Fact]
    public async Task A_practitioners_question_is_recorded_and_answered_as_the_access_request_is_then_decided()
    {
        var (patient, patientToken) = await NewPatientAsync();
        var self = Host.Client(patientToken);
        var grant = await self.PostJsonAsync($"/patients/{patient}/consents",
            new { grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" }, purposes = new[] { "treatment" }, actions = new[] { "read" } });
        Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        var consentId = (await grant.JsonAsync()).GetProperty("consentId").GetString();
        var nurse = Host.As("riverside nurse");
        var before = await Host.StreamLengthAsync(patient);

        var asked = await nurse.GetAsync($"/patients/{patient}/access/explain?purpose=treatment&category=conditions&category=medications");

        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        var answer = await asked.JsonAsync();
        Assert.Equal("partly-granted", answer.GetProperty("decision").GetString());
        Assert.Equal([consentId], answer.GetProperty("consents").EnumerateArray().Select(c => c.GetProperty("consentId").GetString()));
        Assert.True(answer.GetProperty("receipt").GetProperty("endorsedBy").GetArrayLength() >= 2, "the question is endorsed like any command");
        Assert.Equal(before + 1, await Host.StreamLengthAsync(patient));
        var last = await Host.Services.GetRequiredService<IEventStore>().ReadLastAsync($"patient-{patient}");
        Assert.Equal("access.explained.v1", last!.Type);
        var trail = await (await self.GetFreshAsync($"/patients/{patient}/audit?action=access-explained")).JsonAsync();
        var row = Assert.Single(trail.GetProperty("items").EnumerateArray());
        Assert.Equal("riverside-nurse", row.GetProperty("actor").GetProperty("id").GetString());
        Assert.Equal(["conditions", "medications"], Strings(row.GetProperty("categoriesRequested")));

        // The access request that follows gets exactly what the answer said.
        var access = await nurse.PostJsonAsync($"/patients/{patient}/access", new { purpose = "treatment", categories = new[] { "conditions", "medications" } });
        Assert.Equal(HttpStatusCode.OK, access.StatusCode);
        Assert.Equal(Strings(answer.GetProperty("released")), Strings((await access.JsonAsync()).GetProperty("categoriesReleased")));

        // Revoked: the next answer is the denial an access request would get.
        Assert.Equal(HttpStatusCode.OK, (await self.DeleteAsync($"/patients/{patient}/consents/{consentId}")).StatusCode);
        var after = await (await nurse.GetAsync($"/patients/{patient}/access/explain?purpose=treatment&category=conditions")).JsonAsync();
        Assert.Equal("denied", after.GetProperty("decision").GetString());
        Assert.Empty(after.GetProperty("consents").EnumerateArray());
        var denied = await nurse.PostJsonAsync($"/patients/{patient}/access", new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(after.GetProperty("reason").GetString(), (await denied.JsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("riverside nurse", "grantee=riverside-physician&", "about-themselves-only")]
    [InlineData("riverside nurse", "granteeRole=nurse&granteeHospital=riverside&", "about-themselves-only")]
    [InlineData("researcher", "", "practitioners-only")]
    [InlineData("bob (patient)", "grantee=riverside-physician&", "not-the-patient")]
    public async Task Anyone_else_is_refused_and_nothing_is_recorded(string caller, string grantee, string code)
    {
        var before = await Host.CountsAsync();

        var response = await Host.As(caller).GetAsync($"/patients/{Alice}/access/explain?{grantee}purpose=treatment&category=conditions");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(code, (await response.JsonAsync()).GetProperty("code").GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Theory]
    [InlineData("alice (patient)", "grantee=riverside-physician&category=conditions", "purpose")]
    [InlineData("alice (patient)", "grantee=riverside-physician&purpose=fun&category=conditions", "purpose")]
    [InlineData("riverside nurse", "purpose=treatment", "category")]
    [InlineData("riverside nurse", "purpose=treatment&category=conditions&category=x-rays", "category")]
    [InlineData("alice (patient)", "grantee=riverside-physician&granteeRole=nurse&granteeHospital=riverside&purpose=treatment&category=conditions", "grantee")]
    [InlineData("alice (patient)", "granteeRole=nurse&purpose=treatment&category=conditions", "granteeHospital")]
    [InlineData("alice (patient)", "granteeRole=patient&granteeHospital=riverside&purpose=treatment&category=conditions", "granteeRole")]
    [InlineData("alice (patient)", "grantee=riverside-physician&purpose=treatment%00&category=conditions", "purpose")]
    public async Task Bad_questions_are_field_errors_and_record_nothing(string caller, string query, string field)
    {
        var before = await Host.CountsAsync();

        var response = await Host.As(caller).GetAsync($"/patients/{Alice}/access/explain?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _), $"no field error for {field}");
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Theory]
    [InlineData("grantee=nobody-here&purpose=treatment&category=conditions", "unknown-grantee")]
    [InlineData("granteeRole=nurse&granteeHospital=atlantis&purpose=treatment&category=conditions", "unknown-grantee")]
    [InlineData("purpose=treatment&category=conditions", "grantee-required")]
    public async Task The_patient_names_someone_the_network_knows(string query, string code)
    {
        var response = await Host.As("alice (patient)").GetAsync($"/patients/{Alice}/access/explain?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, (await response.JsonAsync()).GetProperty("code").GetString());
    }

    private async Task<(Guid Patient, string Token)> NewPatientAsync()
    {
        var registered = await Host.As("northside physician").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "other", name = "Explained Patient" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        return (patient, Host.Mint("northside", $"explained-{patient:N}", Role.Patient, patient));
    }
}
