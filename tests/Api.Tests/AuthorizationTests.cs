using System.Net;
using System.Net.Http.Json;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Api.Tests;

public sealed class DemoServiceFixture : IAsyncLifetime
{
    public ServiceHost Host { get; private set; } = null!;
    public async Task InitializeAsync() => Host = await ServiceHost.StartAsync();
    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>The contract's "who" column, route by route, role by role, on the demo network (Alice: home northside;
/// consents: riverside hospital reads all general categories, home-care role reads medications and allergies, researchers research).</summary>
public sealed class AuthorizationTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";

    private static readonly object Entry = new { category = "conditions", code = new { system = "icd-10", code = "I10" }, text = "Blood pressure follow-up." };
    private static readonly object Consent = new { grantee = new { kind = "practitioner", id = "lakeside-nurse" }, categories = new[] { "vaccinations" }, purposes = new[] { "treatment" }, actions = new[] { "read" } };
    private static readonly object Insurance = new { insurer = "Acme Health", policyReference = "POL-1", validFrom = "2026-01-01T00:00:00Z", validUntil = "2027-01-01T00:00:00Z" };
    private static object Access(params string[] categories) => new { purpose = "treatment", categories };

    public static TheoryData<string, string, string, string, int> Cases => new()
    {
        // who, method, route, body key, expected status
        { "alice (patient)", "GET", "audit", "", 200 },
        { "bob (patient)", "GET", "audit", "", 403 },
        { "northside physician", "GET", "audit", "", 403 },
        { "researcher", "GET", "audit", "", 403 },
        { "alice (patient)", "GET", "consents", "", 200 },
        { "bob (patient)", "GET", "consents", "", 403 },
        { "riverside physician", "GET", "consents", "", 200 },
        { "lakeside physician", "GET", "consents", "", 403 },
        { "alice (patient)", "GET", "verification", "", 200 },
        { "northside physician", "GET", "verification", "", 403 },
        { "riverside physician", "POST", "access", "conditions", 200 },
        { "lakeside physician", "POST", "access", "conditions", 403 },
        { "northside home-care", "POST", "access", "medications", 200 },
        { "lakeside home-care", "POST", "access", "conditions", 403 },
        { "lakeside home-care", "POST", "access", "allergies", 200 },
        { "researcher", "POST", "access", "conditions", 403 },
        { "riverside physician", "POST", "access", "mental-health", 403 },
        { "alice (patient)", "POST", "access", "mental-health", 200 },
        { "northside physician", "POST", "entries", "", 201 },
        { "northside nurse", "POST", "entries", "", 201 },
        { "riverside physician", "POST", "entries", "", 403 },
        { "northside admin", "POST", "entries", "", 403 },
        { "alice (patient)", "POST", "entries", "", 403 },
        { "researcher", "POST", "entries", "", 403 },
        { "alice (patient)", "POST", "consents", "", 201 },
        { "northside physician", "POST", "consents", "", 403 },
        { "riverside admin", "PUT", "insurance", "", 200 },
        { "northside physician", "PUT", "insurance", "", 403 },
        { "lakeside pharmacist", "GET", "insurance/validity", "", 200 },
        { "alice (patient)", "GET", "insurance/validity", "", 403 },
        { "researcher", "GET", "insurance/validity", "", 403 },
        { "lakeside physician", "POST", "emergency-access", "", 200 },
        { "lakeside nurse", "POST", "emergency-access", "", 403 },
        { "northside physician", "POST", "forget", "", 403 },
        { "researcher", "GET", "../../network", "", 200 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Who_may_do_what(string who, string method, string route, string category, int expected)
    {
        var client = fixture.Host.As(who);
        var url = $"/patients/{Alice}/{route}";
        object? body = (method, route) switch
        {
            ("POST", "access") => Access(category),
            ("POST", "entries") => Entry,
            ("POST", "consents") => Consent,
            ("PUT", "insurance") => Insurance,
            ("POST", "emergency-access") => new { reason = "Unconscious in the emergency department." },
            ("POST", "forget") => new { },
            _ => null,
        };
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null) request.Content = JsonContent.Create(body, options: Json.Options);

        var response = await client.SendAsync(request);

        Assert.Equal((HttpStatusCode)expected, response.StatusCode);
    }

    [Fact]
    public async Task Only_the_authors_hospital_changes_an_entry_and_only_the_patient_revokes_or_forgets()
    {
        var host = fixture.Host;
        var added = await (await host.As("northside physician").PostJsonAsync($"/patients/{Alice}/entries", Entry)).JsonAsync();
        var entry = added.GetProperty("entryId").GetString();
        var amendment = new { text = "Corrected note.", reason = "typo" };
        var retraction = new { reason = "entered in error" };

        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/entries/{entry}/amendments", amendment)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("alice (patient)").PostJsonAsync($"/patients/{Alice}/entries/{entry}/amendments", amendment)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.As("northside nurse").PostJsonAsync($"/patients/{Alice}/entries/{entry}/amendments", amendment)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/entries/{entry}/retraction", retraction)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("researcher").PostJsonAsync($"/patients/{Alice}/entries/{entry}/retraction", retraction)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.As("northside physician").PostJsonAsync($"/patients/{Alice}/entries/{entry}/retraction", retraction)).StatusCode);

        var granted = await (await host.As("alice (patient)").PostJsonAsync($"/patients/{Alice}/consents", Consent)).JsonAsync();
        var consent = granted.GetProperty("consentId").GetString();
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("northside physician").DeleteAsync($"/patients/{Alice}/consents/{consent}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("bob (patient)").DeleteAsync($"/patients/{Alice}/consents/{consent}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.As("alice (patient)").DeleteAsync($"/patients/{Alice}/consents/{consent}")).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("bob (patient)").PostJsonAsync($"/patients/{Alice}/forget", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.As("northside admin").PostJsonAsync($"/patients/{Alice}/forget", new { })).StatusCode);
    }
}
