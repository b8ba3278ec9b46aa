using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>Practitioners and researchers, over real HTTP on the demo network: what a hospital's admin may change alone.</summary>
public sealed class NetworkMembershipTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task A_registered_practitioner_is_let_in_and_a_deregistered_one_is_shut_out()
    {
        var token = Host.Mint("northside", "northside-locum", Role.Physician);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client(token).GetAsync("/network")).StatusCode);

        var registered = await Host.As("northside admin").PostJsonAsync("/network/practitioners", new { practitionerId = "northside-locum", role = "physician" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var body = await registered.JsonAsync();
        Assert.Equal("northside", body.GetProperty("hospitalId").GetString());
        Assert.Equal(2, body.GetProperty("receipt").GetProperty("endorsedBy").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await Host.Client(token).GetAsync("/network")).StatusCode);

        var deregistered = await Host.As("northside admin").DeleteAsync("/network/practitioners/northside-locum");
        Assert.Equal(HttpStatusCode.OK, deregistered.StatusCode);
        Assert.NotEmpty((await deregistered.JsonAsync()).GetProperty("eventIds").EnumerateArray());

        // The very same token, still within its lifetime, no longer authenticates.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client(token).GetAsync("/network")).StatusCode);
    }

    [Fact]
    public async Task Practitioners_belong_to_the_admins_own_hospital()
    {
        await Created(Host.As("riverside admin").PostJsonAsync("/network/practitioners", new { practitionerId = "riverside-temp", role = "nurse" }));
        Assert.Equal(HttpStatusCode.OK, (await Host.Client(Host.Mint("riverside", "riverside-temp", Role.Nurse)).GetAsync("/network")).StatusCode);
        // Registered as riverside's: northside cannot vouch for them.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client(Host.Mint("northside", "riverside-temp", Role.Nurse)).GetAsync("/network")).StatusCode);
    }

    [Theory]
    [InlineData("northside physician", "POST", "/network/practitioners")]
    [InlineData("northside nurse", "DELETE", "/network/practitioners/northside-pharmacist")]
    [InlineData("riverside admin", "DELETE", "/network/practitioners/northside-pharmacist")]
    [InlineData("researcher", "POST", "/network/researchers")]
    [InlineData("lakeside physician", "POST", "/network/proposals")]
    [InlineData("alice (patient)", "GET", "/network/proposals")]
    public async Task Only_admins_change_the_network_and_only_for_their_hospital(string who, string method, string url)
    {
        var before = await NetworkLengthAsync(Host);
        object body = url switch
        {
            "/network/practitioners" => new { practitionerId = "intruder", role = "admin" },
            "/network/researchers" => new { researcherId = "intruder", organisation = "Nowhere" },
            _ => new { kind = "membership-policy", policy = "OutOf(1, *)" },
        };
        var client = Host.As(who);
        var response = method switch
        {
            "POST" => await client.PostJsonAsync(url, body),
            "DELETE" => await client.DeleteAsync(url),
            _ => await client.GetAsync(url),
        };

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await NetworkLengthAsync(Host));
    }

    [Fact]
    public async Task Bad_input_is_a_400_with_field_errors_and_appends_nothing()
    {
        var before = await NetworkLengthAsync(Host);
        var admin = Host.As("northside admin");

        var role = await admin.PostJsonAsync("/network/practitioners", new { practitionerId = "someone", role = "researcher" });
        Assert.Equal(HttpStatusCode.BadRequest, role.StatusCode);
        Assert.True((await role.JsonAsync()).GetProperty("errors").TryGetProperty("role", out _));

        var id = await admin.PostJsonAsync("/network/practitioners", new { practitionerId = "has space", role = "nurse" });
        Assert.True((await id.JsonAsync()).GetProperty("errors").TryGetProperty("practitionerId", out _));

        var policy = await admin.PostJsonAsync("/network/proposals", new { kind = "endorsement-policy", policy = "OutOf(2, *" });
        Assert.Equal(HttpStatusCode.BadRequest, policy.StatusCode);
        Assert.Contains("')' is missing", (await policy.JsonAsync()).GetProperty("errors").GetProperty("policy")[0].GetString());

        var kind = await admin.PostJsonAsync("/network/proposals", new { kind = "dissolve-network" });
        Assert.True((await kind.JsonAsync()).GetProperty("errors").TryGetProperty("kind", out _));

        var hospital = await admin.PostJsonAsync("/network/proposals", new { kind = "admit-hospital", hospital = new { id = "home", name = "x" } });
        var errors = (await hospital.JsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("hospital.id", out _));
        Assert.True(errors.TryGetProperty("hospital.endorserEndpoint", out _));

        Assert.Equal(before, await NetworkLengthAsync(Host));
    }

    [Fact]
    public async Task Deregistration_refuses_unknown_practitioners_and_the_last_admin()
    {
        var admin = Host.As("lakeside admin");
        var unknown = await admin.DeleteAsync("/network/practitioners/nobody-here");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("practitioner-not-found", (await unknown.JsonAsync()).GetProperty("code").GetString());

        var last = await admin.DeleteAsync("/network/practitioners/lakeside-admin");
        Assert.Equal(HttpStatusCode.Conflict, last.StatusCode);
        Assert.Equal("last-admin", (await last.JsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/network")).StatusCode);
    }

    [Fact]
    public async Task Any_member_admin_registers_a_researcher_who_can_then_sign_in()
    {
        await Created(Host.As("riverside admin").PostJsonAsync("/network/researchers", new { researcherId = "researcher-2", organisation = "Riverside Institute" }));
        Assert.Equal(HttpStatusCode.OK, (await Host.Client(Host.Mint("riverside", "researcher-2", Role.Researcher)).GetAsync("/network")).StatusCode);
        // Riverside vouches for the researcher: no other member can speak for them.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client(Host.Mint("lakeside", "researcher-2", Role.Researcher)).GetAsync("/network")).StatusCode);

        var again = await Host.As("northside admin").PostJsonAsync("/network/researchers", new { researcherId = "researcher-2", organisation = "Elsewhere" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Admitting_or_changing_a_policy_directly_is_not_possible_on_one_admins_word()
    {
        // No route for it; a proposal by a single hospital of three is only a proposal.
        var before = await NetworkLengthAsync(Host);
        var proposal = await Created(Host.As("lakeside admin").PostJsonAsync("/network/proposals", new { kind = "membership-policy", policy = "OutOf(1, *)" }));
        Assert.False(proposal.GetProperty("enacted").GetBoolean());
        Assert.Equal(before + 2, await NetworkLengthAsync(Host)); // proposed + the proposer's approval
        Assert.Equal("Majority(*)", (await (await Host.As("northside physician").GetAsync("/network")).JsonAsync()).GetProperty("membershipPolicy").GetString());
    }

    internal static async Task<JsonElement> Created(Task<HttpResponseMessage> request)
    {
        var response = await request;
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.JsonAsync();
    }

    internal static async Task<int> NetworkLengthAsync(ServiceHost host)
    {
        var store = host.Services.GetRequiredService<IEventStore>();
        var count = 0;
        await foreach (var _ in store.ReadStreamAsync("network")) count++;
        return count;
    }
}

/// <summary>Changes of the network itself, each on a fresh demo network of three: a majority of member hospitals must approve.</summary>
public sealed class NetworkGovernanceTests
{
    [Fact]
    public async Task A_hospital_is_admitted_after_a_majority_approves_and_not_before()
    {
        await using var host = await ServiceHost.StartAsync();
        using var endorsement = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var identity = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var westside = new
        {
            id = "westside", name = "Westside Hospital",
            endorserEndpoint = "http://127.0.0.1:9/", // nobody answers there: the others still make 2 of 4
            endorsementKeyId = PublicKeys.KeyId(endorsement), endorsementPublicKey = PublicKeys.Export(endorsement),
            identityKeyId = PublicKeys.KeyId(identity), identityPublicKey = PublicKeys.Export(identity),
        };

        var proposed = await NetworkMembershipTests.Created(host.As("northside admin").PostJsonAsync("/network/proposals", new { kind = "admit-hospital", hospital = westside }));
        Assert.False(proposed.GetProperty("enacted").GetBoolean());
        var proposalId = proposed.GetProperty("proposalId").GetGuid();
        Assert.Equal(["northside"], proposed.GetProperty("approvedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("westside", await MembersAsync(host));

        var open = (await (await host.As("lakeside admin").GetAsync("/network/proposals")).JsonAsync()).GetProperty("proposals")[0];
        Assert.Equal(proposalId, open.GetProperty("proposalId").GetGuid());
        Assert.Equal("admit-hospital", open.GetProperty("kind").GetString());
        Assert.False(open.GetProperty("enacted").GetBoolean());

        // Approving twice for the same hospital counts once.
        var twice = await host.As("northside admin").PostAsync($"/network/proposals/{proposalId}/approvals", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);

        var approved = await host.As("riverside admin").PostAsync($"/network/proposals/{proposalId}/approvals", null);
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var result = await approved.JsonAsync();
        Assert.True(result.GetProperty("enacted").GetBoolean());
        Assert.Equal(["northside", "riverside"], result.GetProperty("approvedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("westside", await MembersAsync(host));

        var late = await host.As("lakeside admin").PostAsync($"/network/proposals/{proposalId}/approvals", null);
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("proposal-enacted", (await late.JsonAsync()).GetProperty("code").GetString());
        var unknown = await host.As("lakeside admin").PostAsync($"/network/proposals/{Guid.NewGuid()}/approvals", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // The network still works with a silent fourth member, and the whole history verifies.
        await NetworkMembershipTests.Created(host.As("northside admin").PostJsonAsync("/network/practitioners", new { practitionerId = "northside-new", role = "nurse" }));
        await AssertVerifiedAsync(host);
    }

    [Fact]
    public async Task The_endorsement_policy_changes_after_a_majority_approves_and_not_before()
    {
        await using var host = await ServiceHost.StartAsync();
        var proposed = await NetworkMembershipTests.Created(host.As("lakeside admin").PostJsonAsync("/network/proposals",
            new { kind = "endorsement-policy", policy = "outof(3, *)" }));
        var proposalId = proposed.GetProperty("proposalId").GetGuid();
        Assert.Equal("OutOf(2, *)", await EndorsementPolicyAsync(host));

        var approved = await host.As("northside admin").PostAsync($"/network/proposals/{proposalId}/approvals", null);
        Assert.True((await approved.JsonAsync()).GetProperty("enacted").GetBoolean());
        Assert.Equal("OutOf(3, *)", await EndorsementPolicyAsync(host));

        // From now on every transaction carries all three endorsements.
        var next = await NetworkMembershipTests.Created(host.As("riverside admin").PostJsonAsync("/network/practitioners", new { practitionerId = "riverside-new", role = "pharmacist" }));
        Assert.Equal(3, next.GetProperty("receipt").GetProperty("endorsedBy").GetArrayLength());
        await AssertVerifiedAsync(host);
    }

    private static async Task<List<string?>> MembersAsync(ServiceHost host) =>
        (await (await host.As("northside physician").GetAsync("/network")).JsonAsync()).GetProperty("hospitals")
            .EnumerateArray().Select(h => h.GetProperty("id").GetString()).ToList();

    private static async Task<string?> EndorsementPolicyAsync(ServiceHost host) =>
        (await (await host.As("northside physician").GetAsync("/network")).JsonAsync()).GetProperty("endorsementPolicy").GetString();

    private static async Task AssertVerifiedAsync(ServiceHost host)
    {
        var store = host.Services.GetRequiredService<IEventStore>();
        var checker = await EndorsementChecker.LoadAsync(store, host.Services.GetRequiredService<EventSerializer>());
        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.True(report.Verified, string.Join("; ", report.BrokenStreams.SelectMany(s => s.Problems).Select(p => $"{p.StreamId} v{p.Version} {p.Code}: {p.Message}")));
    }
}
