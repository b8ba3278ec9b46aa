using System.Net;
using System.Net.Http.Json;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Api.Tests;

/// <summary>The Idempotency-Key header as the IETF draft describes it: an exact retry answers the same, once recorded.</summary>
public sealed class IdempotencyTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost Host => fixture.Host;

    private Task<HttpResponseMessage> PostAsync(string caller, string route, object body, string key) =>
        Host.As(caller).SendAsync(new HttpRequestMessage(HttpMethod.Post, route)
        {
            Content = JsonContent.Create(body, options: Json.Options),
            Headers = { { "Idempotency-Key", key } },
        });

    [Fact]
    public async Task An_exact_retry_answers_the_original_and_records_nothing_new()
    {
        var key = Guid.NewGuid().ToString();
        var registration = new { homeHospital = "northside", birthYear = 1975, sex = "male", name = "Retry Example" };
        var first = await PostAsync("northside physician", "/patients", registration, key);
        var before = await Host.CountsAsync();

        var retry = await PostAsync("northside physician", "/patients", registration, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync()); // the same patient id and receipt
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Fact]
    public async Task A_retried_entry_and_a_retried_denial_answer_as_the_first_did()
    {
        var entry = new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Retried." };
        var key = Guid.NewGuid().ToString();
        var first = await PostAsync("northside physician", $"/patients/{Alice}/entries", entry, key);
        var retry = await PostAsync("northside physician", $"/patients/{Alice}/entries", entry, key);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());

        var denialKey = Guid.NewGuid().ToString();
        var access = new { purpose = "treatment", categories = new[] { "mental-health" } };
        var denied = await PostAsync("lakeside physician", $"/patients/{Alice}/access", access, denialKey);
        var before = await Host.CountsAsync();
        var again = await PostAsync("lakeside physician", $"/patients/{Alice}/access", access, denialKey);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        Assert.Equal(before, await Host.CountsAsync()); // the denial is on the record once
    }

    [Fact]
    public async Task A_key_reused_for_another_request_is_422_and_a_malformed_key_400()
    {
        var key = Guid.NewGuid().ToString();
        var access = new { purpose = "treatment", categories = new[] { "conditions" } };
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("riverside physician", $"/patients/{Alice}/access", access, key)).StatusCode);
        var before = await Host.CountsAsync();

        var other = await PostAsync("riverside physician", $"/patients/{Alice}/access", new { purpose = "treatment", categories = new[] { "allergies" } }, key);
        var malformed = await PostAsync("riverside physician", $"/patients/{Alice}/access", access, "not-a-uuid");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("idempotency-key-reused", (await other.JsonAsync()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("idempotency-key-invalid", (await malformed.JsonAsync()).GetProperty("code").GetString());
        Assert.Equal(before, await Host.CountsAsync());
        // Keys are per caller: another caller's request under the same key is its own.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("riverside admin", $"/patients/{Alice}/access", access, key)).StatusCode);
    }
}
