using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>Issue 10's edge: text with control characters, nulls and missing lists, ambiguous JSON — each a 400 that stores nothing.</summary>
public sealed class HostileInputTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost Host => fixture.Host;

    private async Task<HttpResponseMessage> SendAsync(string caller, string method, string route, string json) =>
        await Host.As(caller).SendAsync(new HttpRequestMessage(new HttpMethod(method), route)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        });

    public static TheoryData<string, string, string, string, string> Bodies => new()
    {
        // caller, method, route (under Alice), body, the field the error names
        { "northside physician", "POST", "/entries", """{"category":"conditions","code":{"system":"http://x\u0000","code":"I10"},"text":"ok"}""", "code.system" },
        { "northside physician", "POST", "/entries", """{"category":"conditions","code":{"system":"s","code":"I1\u0000"},"text":"ok"}""", "code.code" },
        { "northside physician", "POST", "/entries", """{"category":"conditions","code":{"system":"s","code":"c"},"text":"a\u0000b"}""", "text" },
        { "northside physician", "POST", "/entries", """{"category":"conditions","code":{"system":"s","code":"c","display":"x\u0007"},"text":"t"}""", "code.display" },
        { "northside physician", "POST", "/emergency-access", """{"reason":"unconscious\u0000"}""", "reason" },
        { "alice (patient)", "POST", "/consents", """{"grantee":{"kind":"hospital","id":"river\u0000side"},"categories":["conditions"],"purposes":["treatment"],"actions":["read"]}""", "grantee.id" },
        { "alice (patient)", "POST", "/consents", """{"grantee":{"kind":"hospital","id":"riverside"},"categories":["condi\u0000tions"],"purposes":["treatment"],"actions":["read"]}""", "categories[0]" },
        // Bidirectional overrides and isolates would show the patient other words than the text holds: refused like control characters.
        { "northside physician", "POST", "/emergency-access", """{"reason":"Unconscious \u202Edesserp ton\u202C on arrival."}""", "reason" },
        { "northside physician", "POST", "/entries", """{"category":"conditions","code":{"system":"s","code":"c"},"text":"a \u2067b\u2069 c"}""", "text" },
        { "riverside admin", "PUT", "/insurance", """{"insurer":"Acme\u0000","policyReference":"P-1","validFrom":"2026-01-01T00:00:00Z","validUntil":"2027-01-01T00:00:00Z"}""", "insurer" },
        // Missing or null lists: a field error, never a failure.
        { "riverside physician", "POST", "/access", """{}""", "purpose" },
        { "riverside physician", "POST", "/access", """{"purpose":"treatment","categories":null}""", "categories" },
        { "riverside physician", "POST", "/access", """{"purpose":"treatment","categories":["conditions",null]}""", "categories" },
        { "alice (patient)", "POST", "/consents", """{"grantee":{"kind":"hospital","id":"riverside"}}""", "categories" },
        { "alice (patient)", "POST", "/consents", """{"grantee":null,"categories":["conditions"],"purposes":["treatment"],"actions":["read"]}""", "grantee" },
        // The same property twice: which one would count? Neither.
        { "riverside physician", "POST", "/access", """{"purpose":"treatment","categories":["conditions"],"categories":["mental-health"]}""", "categories" },
        { "riverside physician", "POST", "/access", """{"purpose":"research","purpose":"treatment","categories":["conditions"]}""", "purpose" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Hostile_bodies_are_400s_naming_the_field_and_store_nothing(string caller, string method, string route, string body, string field)
    {
        var before = await Host.CountsAsync();

        var response = await SendAsync(caller, method, $"/patients/{Alice}{route}", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.True(errors.EnumerateObject().Any(e => e.Name.StartsWith(field, StringComparison.Ordinal)), $"{field} not in {errors}");
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Theory]
    [InlineData("actor=%00")]
    [InlineData("action=access%0Agranted")]
    [InlineData("cursor=%01")]
    [InlineData("%00=1")]
    public async Task Control_characters_in_a_query_are_400s(string query)
    {
        var response = await Host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Narrative_text_keeps_its_tabs_and_line_breaks()
    {
        var response = await SendAsync("northside physician", "POST", $"/patients/{Alice}/entries",
            """{"category":"conditions","code":{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"},"text":"Line one.\r\n\tLine two."}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}

/// <summary>Requests malformed before their body is read: other charsets, parameters that do not bind, controls in the path.</summary>
public sealed class MalformedRequestTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";

    [Theory]
    [InlineData("application/json; charset=foo")]
    [InlineData("application/json; charset=utf-7")]
    [InlineData("application/json; charset=\"x\"")]
    [InlineData("application/json; charset=")]
    public async Task A_body_in_another_charset_is_415(string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/patients")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"homeHospital":"northside","birthYear":1980,"sex":"female","name":"X"}""")),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await fixture.Host.As("northside physician").SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData("/patients/{0}/audit?limit=99999999999", "limit")]
    [InlineData("/patients/{0}/audit?from=9999-99-99", "from")]
    [InlineData("/patients/{0}/insurance/validity?at=abc", "at")]
    public async Task A_query_parameter_that_does_not_bind_is_a_400_naming_it(string route, string parameter)
    {
        var caller = route.Contains("insurance") ? "northside physician" : "alice (patient)";
        var response = await fixture.Host.As(caller).GetAsync(string.Format(route, Alice));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.JsonAsync()).GetProperty("errors").TryGetProperty(parameter, out _));
    }

    [Fact]
    public async Task A_control_character_in_the_path_is_a_400()
    {
        var response = await fixture.Host.As("researcher").GetAsync("/research/projections/a%01b");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.JsonAsync()).GetProperty("errors").TryGetProperty("path", out _));
    }
}
