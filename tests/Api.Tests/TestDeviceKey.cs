using System.Net.Http.Json;
using System.Security.Cryptography;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Api.Tests;

/// <summary>A patient's device key as the page makes one (P-256), signing what the page signs (PatientStatements).</summary>
public sealed class TestDeviceKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string PublicKey => Convert.ToBase64String(_key.ExportSubjectPublicKeyInfo());

    public string KeyId => P256.KeyIdOf(_key.ExportSubjectPublicKeyInfo());

    private string Sign(byte[] statement) =>
        Convert.ToBase64String(_key.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    /// <summary>The body of POST /patients/{id}/device-key: this key, proved by its own signature made at <paramref name="signedAt"/> (now by default).</summary>
    public object Enrolment(Guid patient, string? reason = null, DateTimeOffset? signedAt = null)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds((signedAt ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds());
        return new { publicKey = PublicKey, signedAt = at, proof = Sign(PatientStatements.Enrolment(patient, KeyId, at, PublicKey)), reason };
    }

    /// <summary>This key's signature of <paramref name="command"/>'s statement (actor and time are not part of it), made at <paramref name="signedAt"/>, whole seconds.</summary>
    public PatientSignature Signature(IPatientSigned command, Guid patient, DateTimeOffset? signedAt = null, string? keyId = null)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds((signedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds());
        var id = keyId ?? KeyId;
        return new PatientSignature(id, at, Sign(PatientStatements.Of(command, patient, id, at)));
    }

    /// <summary>The Patient-Signature header of <paramref name="command"/>, as the page sends it.</summary>
    public string Header(IPatientSigned command, Guid patient, DateTimeOffset? signedAt = null)
    {
        var s = Signature(command, patient, signedAt);
        return $"keyid=\"{s.KeyId}\", created={s.SignedAt.ToUnixTimeSeconds()}, sig=:{s.Signature}:";
    }

    /// <summary>A grant of <paramref name="category"/> to a hospital for treatment reads, from <paramref name="from"/> (whole milliseconds), open-ended: as a command and as the request body.</summary>
    public static (GrantConsent Command, object Body) Grant(string hospital, string category, DateTimeOffset from)
    {
        var id = Guid.NewGuid();
        var start = DateTimeOffset.FromUnixTimeMilliseconds(from.ToUnixTimeMilliseconds());
        var nobody = new Actor("", Role.Patient, "");
        var command = new GrantConsent(id, Grantee.Hospital(hospital), [ValidationRulesOf<Category>(category)], [Purpose.Treatment], [AccessAction.Read], start, null, nobody, start);
        return (command, new { consentId = id, grantee = new { kind = "hospital", id = hospital }, categories = new[] { category }, purposes = new[] { "treatment" }, actions = new[] { "read" }, validFrom = start });
    }

    private static T ValidationRulesOf<T>(string kebab) where T : struct, Enum =>
        KebabCase.TryParse<T>(kebab, out var value) ? value : throw new ArgumentException(kebab);

    public void Dispose() => _key.Dispose();
}

/// <summary>A patient who enrolled <see cref="Device"/> and signed <see cref="Granted"/> (allergies, to Riverside) with it.</summary>
public sealed record SignedPatient(Guid Id, HttpClient Patient, TestDeviceKey Device, ConsentGranted Granted) : IDisposable
{
    public string StreamId => $"patient-{Id}";

    public void Dispose() => Device.Dispose();
}

public static class SignedRequests
{
    /// <summary>A new patient of Northside with a device key, who signed a grant with it; their trail verifies.</summary>
    public static async Task<SignedPatient> SignedPatientAsync(this ServiceHost host, string name)
    {
        var (id, patient) = await host.NewPatientAsync(name);
        var device = new TestDeviceKey();
        Assert.Equal(System.Net.HttpStatusCode.Created, (await patient.PostJsonAsync($"/patients/{id}/device-key", device.Enrolment(id))).StatusCode);
        var (grant, body) = TestDeviceKey.Grant("riverside", "allergies", DateTimeOffset.UtcNow);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await patient.SendSignedAsync(HttpMethod.Post, $"/patients/{id}/consents", body, device.Header(grant, id))).StatusCode);
        Assert.True((await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync()).GetProperty("verified").GetBoolean());
        return new SignedPatient(id, patient, device,
            new ConsentGranted(grant.ConsentId, grant.Grantee, grant.Categories, grant.Purposes, grant.Actions, grant.ValidFrom, grant.ValidUntil));
    }

    /// <summary>Sends <paramref name="body"/> (JSON, null for none) with a Patient-Signature header when one is given.</summary>
    public static async Task<HttpResponseMessage> SendSignedAsync(this HttpClient client, HttpMethod method, string url, object? body, string? signature)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = JsonContent.Create(body, options: Json.Options);
        if (signature is not null) request.Headers.TryAddWithoutValidation("Patient-Signature", signature);
        return await client.SendAsync(request);
    }
}
