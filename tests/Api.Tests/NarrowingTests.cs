using System.Net;
using HealthEvents.Domain.Common;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Narrowing a consent over real HTTP, endorsed 2 of 3 like every command, on either store
/// (<see cref="NarrowingTests"/> on PostgreSQL, <see cref="NarrowingOnEventStoreDbTests"/> on EventStoreDB).
/// </summary>
public abstract class NarrowingSpec(TestStore store) : ServiceOnStore(store)
{
    [SkippableFact]
    public async Task A_narrowed_consent_releases_less_and_anything_wider_or_unchanged_changes_nothing()
    {
        var doctor = Host.As("northside physician");
        var patientId = (await (await doctor.PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "male", name = "Nils Narrow" }))
            .JsonAsync()).GetProperty("patientId").GetGuid();
        foreach (var (category, code) in new[] { ("conditions", "J45"), ("medications", "R03") })
            Assert.Equal(HttpStatusCode.Created, (await doctor.PostJsonAsync($"/patients/{patientId}/entries", new
            {
                category, code = new { system = "http://hl7.org/fhir/sid/icd-10", code }, text = "Noted.",
            })).StatusCode);
        var patient = Host.Client(Host.Mint("northside", "nils", Role.Patient, patientId));
        var month = DateTimeOffset.UtcNow.AddDays(30);
        var consentId = (await (await patient.PostJsonAsync($"/patients/{patientId}/consents", new
        {
            grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions", "medications" },
            purposes = new[] { "treatment" }, actions = new[] { "read" }, validUntil = month,
        })).JsonAsync()).GetProperty("consentId").GetGuid();
        var riverside = Host.As("riverside physician");
        var medications = new { purpose = "treatment", categories = new[] { "medications" } };
        Assert.Equal(HttpStatusCode.OK, (await riverside.PostJsonAsync($"/patients/{patientId}/access", medications)).StatusCode);

        // Narrowed: conditions only, for a week. Endorsed, and what riverside may read follows at once.
        var week = DateTimeOffset.UtcNow.AddDays(7);
        var narrowed = await patient.PostJsonAsync($"/patients/{patientId}/consents/{consentId}/narrow", new { categories = new[] { "conditions" }, validUntil = week });
        Assert.Equal(HttpStatusCode.OK, narrowed.StatusCode);
        Assert.True((await narrowed.JsonAsync()).GetProperty("endorsedBy").GetArrayLength() >= 2);
        var consent = (await (await patient.GetAsync($"/patients/{patientId}/consents")).JsonAsync()).GetProperty("active")[0];
        Assert.Equal(["conditions"], consent.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(week.ToUnixTimeMilliseconds(), consent.GetProperty("validUntil").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, consent.GetProperty("narrowedAt").ValueKind);
        Assert.Equal(HttpStatusCode.Forbidden, (await riverside.PostJsonAsync($"/patients/{patientId}/access", medications)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await riverside.PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
        var row = (await (await patient.GetAsync($"/patients/{patientId}/audit?action=consent-narrowed")).JsonAsync()).GetProperty("items")[0];
        Assert.Equal(consentId, row.GetProperty("consentId").GetGuid());
        Assert.Equal("riverside", row.GetProperty("grantee").GetProperty("id").GetString());

        // Refused with a problem naming why, and nothing stored: wider, later, unchanged, empty, unknown, revoked.
        async Task RefusedAsync(object body, HttpStatusCode status, string? code, Guid? consent = null)
        {
            var before = await Host.CountsAsync();
            using var response = await patient.PostJsonAsync($"/patients/{patientId}/consents/{consent ?? consentId}/narrow", body);
            var problem = await response.JsonAsync();
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {problem}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            if (code is not null) Assert.Equal(code, problem.GetProperty("code").GetString());
            Assert.Equal(before, await Host.CountsAsync());
        }
        await RefusedAsync(new { categories = new[] { "conditions", "genetics" } }, HttpStatusCode.BadRequest, "narrowing-widens");
        await RefusedAsync(new { purposes = new[] { "treatment", "research" } }, HttpStatusCode.BadRequest, "narrowing-widens");
        await RefusedAsync(new { validUntil = month }, HttpStatusCode.BadRequest, "narrowing-widens");
        await RefusedAsync(new { categories = new[] { "conditions" } }, HttpStatusCode.BadRequest, "narrowing-unchanged");
        await RefusedAsync(new { categories = Array.Empty<string>() }, HttpStatusCode.BadRequest, null);
        await RefusedAsync(new { }, HttpStatusCode.BadRequest, null);
        await RefusedAsync(new { categories = new[] { "conditions" } }, HttpStatusCode.NotFound, "consent-not-found", Guid.NewGuid());
        Assert.Equal(HttpStatusCode.OK, (await patient.DeleteAsync($"/patients/{patientId}/consents/{consentId}")).StatusCode);
        await RefusedAsync(new { validUntil = DateTimeOffset.UtcNow.AddDays(1) }, HttpStatusCode.Conflict, "consent-revoked");

        // The narrowing is on the verified trail like any endorsed event.
        var verification = await (await patient.GetAsync($"/patients/{patientId}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());
    }
}

public sealed class NarrowingTests() : NarrowingSpec(TestStore.PostgreSql);

public sealed class NarrowingOnEventStoreDbTests() : NarrowingSpec(TestStore.EventStoreDb);
