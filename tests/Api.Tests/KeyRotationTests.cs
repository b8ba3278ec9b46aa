using System.Net;
using HealthEvents.Domain.Common;

namespace HealthEvents.Api.Tests;

/// <summary>A hospital's admin rotates its own keys through the network stream; old signatures keep verifying.</summary>
public sealed class KeyRotationTests : IAsyncLifetime
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<int> KeyCountAsync(string hospital, string use)
    {
        var network = await (await _host.As("riverside physician").GetAsync("/network")).JsonAsync();
        var h = network.GetProperty("hospitals").EnumerateArray().Single(x => x.GetProperty("id").GetString() == hospital);
        return h.GetProperty(use == "identity" ? "identityKeys" : "endorsementKeys").GetArrayLength();
    }

    [Fact]
    public async Task An_admin_rotates_the_hospitals_own_keys_and_history_still_verifies()
    {
        var before = await _host.StreamLengthAsync(Alice);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.As("riverside admin").PostJsonAsync("/network/hospitals/northside/keys", new { use = "identity" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.As("northside nurse").PostJsonAsync("/network/hospitals/northside/keys", new { use = "identity" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _host.As("northside admin").PostJsonAsync("/network/hospitals/northside/keys", new { use = "master" })).StatusCode);
        Assert.Equal(1, await KeyCountAsync("northside", "identity"));

        var oldToken = _host.Token("northside physician");
        var identity = await _host.As("northside admin").PostJsonAsync("/network/hospitals/northside/keys", new { use = "identity" });
        Assert.Equal(HttpStatusCode.Created, identity.StatusCode);
        var endorsement = await _host.Client(_host.Mint("northside", "northside-admin", Role.Admin))
            .PostJsonAsync("/network/hospitals/northside/keys", new { use = "endorsement" });
        Assert.Equal(HttpStatusCode.Created, endorsement.StatusCode);
        Assert.Equal(2, await KeyCountAsync("northside", "identity"));
        Assert.Equal(2, await KeyCountAsync("northside", "endorsement"));

        // Tokens signed by the retired identity key stop working; the keyring now mints with the new one.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.Client(oldToken).GetAsync("/network")).StatusCode);
        var physician = _host.Client(_host.Mint("northside", "northside-physician", Role.Physician));
        var entry = await physician.PostJsonAsync($"/patients/{Alice}/entries",
            new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Blood pressure follow-up." });
        Assert.Equal(HttpStatusCode.Created, entry.StatusCode);
        Assert.Equal(before + 1, await _host.StreamLengthAsync(Alice));

        // Everything before and after the rotation verifies against the key valid at its time.
        var alice = _host.Client(_host.Mint("northside", "alice", Role.Patient, Alice));
        var verification = await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());
    }

    [Fact]
    public async Task A_key_written_into_the_store_behind_the_networks_back_fails_the_patients_verification()
    {
        // Someone with write access to the store adds a rotation nobody endorsed: their own key for Lakeside.
        using var forged = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var rotation = new HealthEvents.Domain.Network.HospitalKeyRotated("lakeside", HealthEvents.Domain.Network.KeyUse.Endorsement,
            HealthEvents.Infrastructure.Identity.PublicKeys.KeyId(forged), HealthEvents.Infrastructure.Identity.PublicKeys.Export(forged), now);
        var serializer = HealthEvents.Application.Serialization.EventSerializer.Default;
        var metadata = new HealthEvents.Application.Serialization.EventMetadata("lakeside-admin", Role.Admin, "lakeside", Guid.NewGuid(), Guid.NewGuid(), now).ToBytes();
        var store = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<HealthEvents.Application.Ports.IEventStore>(_host.Services);
        await store.AppendAsync("network", HealthEvents.Application.Ports.ExpectedVersion.Any,
            [new HealthEvents.Application.Ports.ProposedEvent(Guid.NewGuid(), serializer.NameOf(rotation), serializer.Serialize(rotation), metadata)], null);

        var verification = await (await _host.As("alice (patient)").GetAsync($"/patients/{Alice}/verification")).JsonAsync();

        Assert.False(verification.GetProperty("verified").GetBoolean());
        Assert.Contains(verification.GetProperty("problems").EnumerateArray(),
            p => p.GetProperty("streamId").GetString() == "network" && p.GetProperty("code").GetString() == "unendorsed");
    }
}
