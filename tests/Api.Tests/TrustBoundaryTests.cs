using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Issue 9 at the API: who may speak for whom. A member node cannot act for another hospital's staff or patients,
/// tokens are short-lived, the genesis shortcut is gone after founding, and endorsers do not share the submitter's state.
/// </summary>
public sealed class TrustBoundaryTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");
    private ServiceHost Host => fixture.Host;

    [Theory]
    [InlineData("GET", "audit")]
    [InlineData("GET", "audit/fhir")]
    [InlineData("GET", "consents")]
    [InlineData("GET", "verification")]
    [InlineData("POST", "consents")]
    [InlineData("POST", "access")]
    [InlineData("POST", "forget")]
    public async Task Another_members_patient_token_is_refused_on_every_route(string method, string route)
    {
        // Lakeside mints a token for Alice, a Northside patient: it does not represent her.
        var lakesideAlice = Host.Client(Host.Mint("lakeside", "alice", Role.Patient, Alice));
        var before = await Host.CountsAsync();

        var response = method == "GET"
            ? await lakesideAlice.GetAsync($"/patients/{Alice}/{route}")
            : await lakesideAlice.PostJsonAsync($"/patients/{Alice}/{route}", route == "consents"
                ? new { grantee = new { kind = "hospital", id = "lakeside" }, categories = new[] { "mental-health" }, purposes = new[] { "treatment" }, actions = new[] { "read" } }
                : new { purpose = "treatment", categories = new[] { "conditions" } });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task A_patient_token_for_an_unknown_patient_is_refused_as_another_hospitals_is()
    {
        var nobody = Guid.NewGuid();
        var unknown = await Host.Client(Host.Mint("northside", "nobody", Role.Patient, nobody)).GetAsync($"/patients/{nobody}/audit");
        var foreign = await Host.Client(Host.Mint("lakeside", "alice", Role.Patient, Alice)).GetAsync($"/patients/{Alice}/audit");

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(foreign.StatusCode, unknown.StatusCode);
        Assert.Equal(await Problem(foreign), await Problem(unknown));
    }

    /// <summary>A problem's body less its trace id, which differs per request.</summary>
    private static async Task<string> Problem(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (body.Length == 0) return "";
        var json = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
        json.Remove("traceId");
        return json.ToJsonString();
    }

    [Fact]
    public async Task Tokens_are_short_lived()
    {
        var now = DateTimeOffset.UtcNow;
        var month = Host.Client(Host.Mint("northside", "northside-physician", Role.Physician, lifetime: TimeSpan.FromDays(30)));
        var expired = Host.Client(Host.Mint("northside", "northside-physician", Role.Physician, lifetime: TimeSpan.FromHours(1), now: now.AddHours(-3)));
        var day = Host.Client(Host.Mint("northside", "northside-physician", Role.Physician, lifetime: TimeSpan.FromDays(1)));

        Assert.Equal(HttpStatusCode.Unauthorized, (await month.GetAsync("/network")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await expired.GetAsync("/network")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await day.GetAsync("/network")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Host.As("northside physician").GetAsync("/network")).StatusCode); // the demo's, refreshed at start
    }

    [Fact]
    public async Task A_consent_to_nobody_in_the_network_is_a_400_naming_the_field()
    {
        var alice = Host.As("alice (patient)");
        var before = await Host.StreamLengthAsync(Alice);
        foreach (var (kind, id) in new[]
                 {
                     ("hospital", "no-such-hospital"), ("practitioner", "riverside-physiciаn"), // Cyrillic а
                     ("hospital", "riverside "), ("practitioner", "riverside\u200B-physician"), ("hospital", "\u202Eediserevir"),
                     ("practitioner", "ledger-builder"),
                 })
        {
            var response = await alice.PostJsonAsync($"/patients/{Alice}/consents",
                new { grantee = new { kind, id }, categories = new[] { "conditions" }, purposes = new[] { "treatment" }, actions = new[] { "read" } });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await response.JsonAsync()).GetProperty("errors").TryGetProperty("grantee.id", out _), id);
        }
        Assert.Equal(before, await Host.StreamLengthAsync(Alice));

        // The practitioner she meant, a registered researcher's organisation and a role are all fine; so is an NFC-equal spelling.
        foreach (var (kind, id) in new[] { ("practitioner", "riverside-physician"), ("hospital", "Lakeside University"), ("role", "pharmacist") })
            Assert.Equal(HttpStatusCode.Created, (await alice.PostJsonAsync($"/patients/{Alice}/consents",
                new { grantee = new { kind, id }, categories = new[] { "allergies" }, purposes = new[] { "treatment" }, actions = new[] { "read" } })).StatusCode);
    }

    [Fact]
    public async Task A_hospital_joins_only_with_keys_of_its_own()
    {
        var network = await (await Host.As("riverside admin").GetAsync("/network")).JsonAsync();
        var northside = network.GetProperty("hospitals").EnumerateArray().Single(h => h.GetProperty("id").GetString() == "northside");
        var (endorsementKey, identityKey) = (northside.GetProperty("endorsementKeys")[0], northside.GetProperty("identityKeys")[0]);
        using var fresh = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var fresh2 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        object Admission(string endpoint, string ekid, string ekey, string ikid, string ikey) => new
        {
            kind = "admit-hospital",
            hospital = new { id = "westside", name = "Westside", endorserEndpoint = endpoint, endorsementKeyId = ekid, endorsementPublicKey = ekey, identityKeyId = ikid, identityPublicKey = ikey },
        };
        string Spki(System.Security.Cryptography.ECDsa k) => Convert.ToBase64String(k.ExportSubjectPublicKeyInfo());
        string Kid(System.Security.Cryptography.ECDsa k) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(k.ExportSubjectPublicKeyInfo()))[..16];
        var before = await Host.CountsAsync();

        foreach (var bad in new[]
                 {
                     // Northside's own keys under new ids: it would then endorse twice.
                     Admission("in-process", endorsementKey.GetProperty("keyId").GetString() + "-w", endorsementKey.GetProperty("publicKey").GetString()!,
                         identityKey.GetProperty("keyId").GetString() + "-w", identityKey.GetProperty("publicKey").GetString()!),
                     Admission("in-process", endorsementKey.GetProperty("keyId").GetString()!, endorsementKey.GetProperty("publicKey").GetString()!, Kid(fresh2), Spki(fresh2)),
                     Admission("in-process", "k1", "!!!", Kid(fresh2), Spki(fresh2)),                       // not a key
                     Admission("in-process", "0123456789abcdef", Spki(fresh), Kid(fresh2), Spki(fresh2)),     // an id that is not the key's
                     Admission("file:///etc/passwd", Kid(fresh), Spki(fresh), Kid(fresh2), Spki(fresh2)),   // not an endorser
                 })
        {
            var response = await Host.As("northside admin").PostJsonAsync("/network/proposals", bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        Assert.Equal(before, await Host.CountsAsync());
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/proposals",
            Admission("in-process", Kid(fresh), Spki(fresh), Kid(fresh2), Spki(fresh2)))).StatusCode);
        // A second admission with the same keys (another name for the same key holder) is refused while the first is open.
        var twin = Admission("in-process", Kid(fresh), Spki(fresh), Kid(fresh2), Spki(fresh2));
        var twinJson = System.Text.Json.JsonSerializer.SerializeToNode(twin, HealthEvents.Application.Serialization.Json.Options)!;
        twinJson["hospital"]!["id"] = "eastside";
        Assert.Equal(HttpStatusCode.BadRequest, (await Host.As("northside admin").PostJsonAsync("/network/proposals", twinJson)).StatusCode);
    }

    [Fact]
    public async Task A_token_with_more_than_one_role_is_refused()
    {
        using var key = new HealthEvents.Infrastructure.Identity.HospitalKeyring(Path.Combine(Host.DataFolder, "keys")).Get("northside", HealthEvents.Infrastructure.Identity.HospitalKeyUse.Identity);
        var now = DateTime.UtcNow;
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
            new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = "northside", Audience = "healthevents", IssuedAt = now, NotBefore = now, Expires = now.AddHours(1),
                Claims = new Dictionary<string, object> { ["sub"] = "northside-physician", ["role"] = new[] { "physician", "admin" }, ["hospital"] = "northside" },
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                    new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(key) { KeyId = HealthEvents.Infrastructure.Identity.PublicKeys.KeyId(key) },
                    Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256),
            });

        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client(token).GetAsync("/network")).StatusCode);
    }

    [Fact]
    public async Task After_founding_a_genesis_command_is_endorsed_or_refused_like_any_other()
    {
        var network = Host.Services.GetRequiredService<NetworkStream>();
        var before = await Host.CountsAsync();
        var genesis = new Actor(SystemActors.Genesis, Role.Admin, "northside");

        // Endorsers refuse the genesis id outside the founding: 503, nothing appended.
        var refused = await Assert.ThrowsAsync<EndorsementPolicyNotMetException>(() => network.ExecuteAsync(
            at => new RegisterPractitioner("northside", "dr-backdoor", Role.Physician, genesis, at), CommandContext.For(genesis), default));
        Assert.Contains(refused.Reasons, r => r.Contains("system id"));
        // Founding again is a conflict, decided before anyone is asked.
        var founded = await Assert.ThrowsAsync<RejectedException>(() => network.ExecuteAsync(
            at => new FoundNetwork([], [], [], null, genesis, at), CommandContext.For(genesis), default));
        Assert.Equal("network-founded", founded.Rejection.Code);

        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task A_node_acts_only_for_the_hospitals_it_holds_the_identity_of()
    {
        // One machine, but the node is Northside's: Riverside's staff must go through Riverside's node.
        await using var northside = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(), "--HealthEvents:NodeHospital=northside");
        var riverside = northside.Client(northside.Mint("riverside", "riverside-physician", Role.Physician));

        Assert.Equal(HttpStatusCode.Unauthorized, (await riverside.GetAsync("/network")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await riverside.PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
        var own = await northside.As("northside physician").PostJsonAsync($"/patients/{Alice}/emergency-access", new { reason = "Unconscious on arrival." });
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        // The demo tokens it writes are its own hospital's only.
        Assert.Throws<InvalidOperationException>(() => northside.Token("riverside physician"));
    }

    [Fact]
    public async Task In_process_endorsers_judge_by_state_of_their_own_not_the_submitters()
    {
        await using var host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync());
        var stream = PatientStream.StreamId(Alice);
        var loader = host.Services.GetRequiredService<StreamLoader>();
        var real = await loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(stream, default);
        // The submitting node's state goes wrong (a bug, or a node that wants to): it believes Lakeside holds a consent to mental health.
        var forged = real.State with
        {
            Consents = real.State.Consents.SetItem(Guid.NewGuid(), new ConsentRule(Grantee.Hospital("lakeside"), [Category.MentalHealth],
                [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow.AddDays(-1), null, Revoked: false)),
        };
        var entries = (ConcurrentDictionary<(string, Type), object>)typeof(StreamStateCache)
            .GetField("_entries", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(host.Services.GetRequiredService<StreamStateCache>())!;
        entries[(stream, typeof(PatientState))] = real with { State = forged };
        var before = await host.StreamLengthAsync(Alice);

        var response = await host.As("lakeside physician").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "mental-health" } });

        // Each endorser re-reads the stream itself, finds no such consent, and refuses the granted access.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("differs", (await response.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(before, await host.StreamLengthAsync(Alice));
    }
}
