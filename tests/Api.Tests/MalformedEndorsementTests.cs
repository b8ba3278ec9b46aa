using System.Net;
using HealthEvents.Application.Patients;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A store writer overwrites the endorsement stored with a patient's transaction (PostgreSQL's <c>endorsement</c> column)
/// with bytes that are not an endorsement's JSON. Every verifier must name that transaction; no route may answer 500 —
/// least of all the patient's own verification, which exists to tell her that her trail was tampered with (today: 500
/// on her verification, envelopes, audit and consents, and on a physician's access request on a node reading afresh).
/// </summary>
public sealed class MalformedEndorsementTests() : ServiceOnStore(TestStore.PostgreSql)
{
    [SkippableFact]
    public async Task A_transaction_whose_stored_endorsement_is_not_json_gets_answers_never_a_500()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Ena Endorsed");
        using var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
        {
            grantee = new { kind = "hospital", id = "lakeside" }, categories = new[] { "conditions" },
            purposes = new[] { "treatment" }, actions = new[] { "read" },
        });
        Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        await Host.ExecuteSqlAsync(
            $"UPDATE he_events SET endorsement = convert_to('{{\"x\":[', 'UTF8') WHERE stream_id = '{PatientStream.StreamId(patient)}' AND version = 1");

        var failures = new List<string>();
        foreach (var route in new[] { "verification", "envelopes", "audit", "consents", "disclosures" })
        {
            using var answer = await patientClient.GetAsync($"/patients/{patient}/{route}");
            if ((int)answer.StatusCode >= 500) failures.Add($"GET /patients/{{id}}/{route} as the patient: {(int)answer.StatusCode}");
        }
        using (var access = await Host.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } }))
            if ((int)access.StatusCode >= 500) failures.Add($"POST /patients/{{id}}/access: {(int)access.StatusCode}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        var verification = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(), verification.ToString());
        Assert.Equal(1, verification.GetProperty("firstBrokenVersion").GetInt64());
    }
}
