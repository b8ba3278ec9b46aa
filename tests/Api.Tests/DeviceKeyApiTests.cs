using System.Net;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Api.Tests;

/// <summary>The patient's device key over HTTP (issue 12, point 7): enrol, sign, refuse the unsigned, replace through the home hospital.</summary>
public sealed class DeviceKeyApiTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    private Task<(Guid Id, HttpClient Patient)> NewPatientAsync() => Host.NewPatientAsync("Dana Device");

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        (await response.JsonAsync()).TryGetProperty("code", out var code) ? code.GetString() : null;

    [Fact]
    public async Task Once_enrolled_consents_need_the_devices_signature_and_the_trail_says_who_signed()
    {
        var (id, patient) = await NewPatientAsync();
        using var device = new TestDeviceKey();
        Assert.Equal(HttpStatusCode.NotFound, (await patient.GetAsync($"/patients/{id}/device-key")).StatusCode);

        var enrolled = await patient.PostJsonAsync($"/patients/{id}/device-key", device.Enrolment(id));
        Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
        Assert.Equal(device.KeyId, (await enrolled.JsonAsync()).GetProperty("keyId").GetString());
        Assert.Equal(device.KeyId, (await (await patient.GetAsync($"/patients/{id}/device-key")).JsonAsync()).GetProperty("keyId").GetString());

        // Unsigned, or signed over another grant: refused, and nothing is stored.
        var (grant, body) = TestDeviceKey.Grant("riverside", "allergies", DateTimeOffset.UtcNow);
        var length = await Host.StreamLengthAsync(id);
        var unsigned = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, null);
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal("patient-signature-required", await CodeAsync(unsigned));
        var otherGrant = grant with { Grantee = Grantee.Hospital("lakeside") };
        var mismatched = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, device.Header(otherGrant, id));
        Assert.Equal("patient-signature-invalid", await CodeAsync(mismatched));
        var stale = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, device.Header(grant, id, DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.Equal("patient-signature-stale", await CodeAsync(stale));
        var malformed = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, "keyid=abc");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(length, await Host.StreamLengthAsync(id));

        // Signed: granted, and the trail names the key that signed.
        var granted = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, device.Header(grant, id));
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        var revoke = new RevokeConsent(grant.ConsentId, grant.Actor, grant.At);
        var revoked = await patient.SendSignedAsync(HttpMethod.Delete, $"/patients/{id}/consents/{grant.ConsentId}", null, device.Header(revoke, id));
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var trail = (await (await patient.GetAsync($"/patients/{id}/audit?order=newest")).JsonAsync()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["consent-revoked", "consent-granted", "device-key-enrolled", "patient-registered"], trail.Select(e => e.GetProperty("action").GetString()));
        Assert.All(trail.Take(2), e => Assert.Equal(device.KeyId, e.GetProperty("signedWithKey").GetString()));
        Assert.Equal(device.KeyId, trail[2].GetProperty("deviceKeyId").GetString());

        // The server's verifier holds the signed history for intact.
        Assert.True((await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync()).GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task A_lost_device_is_replaced_only_through_the_home_hospital_and_the_old_key_signs_nothing()
    {
        var (id, patient) = await NewPatientAsync();
        using var lost = new TestDeviceKey();
        using var replacement = new TestDeviceKey();
        Assert.Equal(HttpStatusCode.Created, (await patient.PostJsonAsync($"/patients/{id}/device-key", lost.Enrolment(id))).StatusCode);

        // The patient alone cannot swap keys (else whoever holds their sign-in could); another hospital cannot either.
        var alone = await patient.PostJsonAsync($"/patients/{id}/device-key", replacement.Enrolment(id));
        Assert.Equal(HttpStatusCode.Conflict, alone.StatusCode);
        Assert.Equal("device-key-enrolled", await CodeAsync(alone));
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("riverside admin").PostJsonAsync($"/patients/{id}/device-key", replacement.Enrolment(id, "lost"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Host.As("northside admin").PostJsonAsync($"/patients/{id}/device-key", replacement.Enrolment(id))).StatusCode);

        var replaced = await Host.As("northside admin").PostJsonAsync($"/patients/{id}/device-key", replacement.Enrolment(id, "Phone lost; identity checked at the desk."));
        Assert.Equal(HttpStatusCode.Created, replaced.StatusCode);

        var (grant, body) = TestDeviceKey.Grant("riverside", "allergies", DateTimeOffset.UtcNow);
        var old = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, lost.Header(grant, id));
        Assert.Equal("patient-signature-wrong-key", await CodeAsync(old));
        Assert.Equal(HttpStatusCode.Created, (await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, replacement.Header(grant, id))).StatusCode);

        // On the trail as what it is: who replaced it, and why.
        var trail = (await (await patient.GetAsync($"/patients/{id}/audit?action=device-key-replaced")).JsonAsync()).GetProperty("items")[0];
        Assert.Equal("northside-admin", trail.GetProperty("actor").GetProperty("id").GetString());
        Assert.Equal("Phone lost; identity checked at the desk.", trail.GetProperty("reason").GetString());
        Assert.Equal(replacement.KeyId, trail.GetProperty("deviceKeyId").GetString());

        // Forgetting is signed too; afterwards the key itself is gone with the rest.
        var forget = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/forget", new { }, replacement.Header(new ForgetPatient(grant.Actor, grant.At), id));
        Assert.Equal(HttpStatusCode.OK, forget.StatusCode);
    }

    [Fact]
    public async Task A_patient_without_a_key_keeps_today_s_unsigned_consents_and_a_stray_signature_is_refused()
    {
        var (id, patient) = await NewPatientAsync();
        using var device = new TestDeviceKey();
        var (grant, body) = TestDeviceKey.Grant("riverside", "allergies", DateTimeOffset.UtcNow);
        var stray = await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, device.Header(grant, id));
        Assert.Equal(HttpStatusCode.Conflict, stray.StatusCode);
        Assert.Equal("no-device-key", await CodeAsync(stray));
        Assert.Equal(HttpStatusCode.Created, (await patient.PostJsonAsync($"/patients/{id}/consents", body)).StatusCode);
        // A key that is none, or whose proof is another key's.
        Assert.Equal(HttpStatusCode.BadRequest, (await patient.PostJsonAsync($"/patients/{id}/device-key", new { publicKey = "bm90IGEga2V5", signedAt = DateTimeOffset.UtcNow, proof = "AAAA" })).StatusCode);
        using var other = new TestDeviceKey();
        var mixed = System.Text.Json.JsonSerializer.SerializeToElement(device.Enrolment(id)).Clone();
        var forged = new { publicKey = other.PublicKey, signedAt = mixed.GetProperty("signedAt").GetDateTimeOffset(), proof = mixed.GetProperty("proof").GetString() };
        Assert.Equal(HttpStatusCode.Forbidden, (await patient.PostJsonAsync($"/patients/{id}/device-key", forged)).StatusCode);
    }
}
