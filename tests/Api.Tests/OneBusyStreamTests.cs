using System.Net;

namespace HealthEvents.Api.Tests;

/// <summary>Many clinical systems writing to one patient at once, over HTTP: on one node they queue, they do not collide.</summary>
public sealed class OneBusyStreamTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task Sixty_four_concurrent_entries_on_one_patient_all_land_in_one_chain()
    {
        var (patient, _) = await Host.NewPatientAsync("Busy Stream");
        var physician = Host.As("northside physician");
        const int writers = 64;

        var responses = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => physician.PostJsonAsync($"/patients/{patient}/entries", new
        {
            category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "E11.9" }, text = $"Concurrent note {i}.",
        })));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s)); // none 409 after its attempts, none 503
        var versions = new List<long>();
        foreach (var r in responses) versions.Add((await r.JsonAsync()).GetProperty("receipt").GetProperty("streamVersion").GetInt64());
        Assert.Equal(Enumerable.Range(1, writers).Select(v => (long)v), versions.Order()); // each its own version, no gap
        Assert.Equal(writers + 1, await Host.StreamLengthAsync(patient));
    }
}
