using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace HealthEvents.Api.Tests;

public sealed class FhirExportTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";

    [Fact]
    public async System.Threading.Tasks.Task The_audit_trail_exports_as_a_FHIR_R4_bundle_of_audit_events_that_a_FHIR_parser_accepts()
    {
        var denied = await fixture.Host.As("lakeside physician").PostJsonAsync($"/patients/{Alice}/access", new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);

        var response = await fixture.Host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit/fhir");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync();
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(json); // strict: unknown or malformed elements fail
        var events = bundle.Entry.Select(e => Assert.IsType<AuditEvent>(e.Resource)).ToList();
        var trail = await (await fixture.Host.As("alice (patient)").GetAsync($"/patients/{Alice}/audit?limit=200")).JsonAsync();
        Assert.Equal(trail.GetProperty("items").GetArrayLength(), events.Count);

        var last = events[^1];
        Assert.Equal("access-denied", last.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventAction.R, last.Action);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, last.Outcome);
        Assert.Equal("no active consent covers the request", last.OutcomeDesc);
        Assert.Equal("lakeside-physician", last.Agent[0].Who!.Identifier!.Value);
        Assert.Equal($"Patient/{Alice}", last.Entity.Single().What!.Reference);
        Assert.DoesNotContain("Alice Demo", json);
    }

    [Fact]
    public async System.Threading.Tasks.Task Only_the_patient_exports_their_trail() =>
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.Host.As("riverside physician").GetAsync($"/patients/{Alice}/audit/fhir")).StatusCode);
}
