using System.Net;
using System.Text;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The README's first session over real HTTP: register, consent, access granted, access denied — on either store
/// (<see cref="WalkThroughTests"/> on PostgreSQL, <see cref="WalkThroughOnEventStoreDbTests"/> on EventStoreDB).
/// </summary>
public abstract class WalkThroughSpec(TestStore store) : ServiceOnStore(store)
{

    [SkippableFact]
    public async Task Health_endpoints_answer()
    {
        var client = Host.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.JsonAsync();
        var checks = body.GetProperty("checks");
        Assert.Equal("ok", checks.GetProperty("eventStore").GetString());
        Assert.Equal("ok", checks.GetProperty("database").GetString());
        // On EventStoreDB, the cluster from gossip (the tests' server is one node: itself, leading).
        Assert.Equal(Host.OnEventStoreDb, body.TryGetProperty("cluster", out var cluster));
        if (Host.OnEventStoreDb)
        {
            var member = Assert.Single(cluster.GetProperty("members").EnumerateArray());
            Assert.Equal("Leader", member.GetProperty("state").GetString());
            Assert.Equal(member.GetProperty("endpoint").GetString(), cluster.GetProperty("leader").GetString());
        }
    }

    [SkippableFact]
    public async Task First_session_register_consent_access_granted_then_denied()
    {
        var northDoctor = Host.As("northside physician");
        var registered = await northDoctor.PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1980, sex = "female", name = "Erin Walkthrough" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var body = await registered.JsonAsync();
        var patientId = body.GetProperty("patientId").GetGuid();
        Assert.Equal(0, body.GetProperty("receipt").GetProperty("streamVersion").GetInt64());
        Assert.Equal(64, body.GetProperty("receipt").GetProperty("hash").GetString()!.Length);

        var entry = await northDoctor.PostJsonAsync($"/patients/{patientId}/entries", new
        {
            category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "J45", display = "Asthma" },
            text = "Uses inhaler when running.",
        });
        Assert.Equal(HttpStatusCode.Created, entry.StatusCode);

        var patient = Host.Client(Host.Mint("northside", "erin", Role.Patient, patientId));
        var consent = await patient.PostJsonAsync($"/patients/{patientId}/consents", new
        {
            grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" }, purposes = new[] { "treatment" },
            actions = new[] { "read" }, validUntil = DateTimeOffset.UtcNow.AddDays(30),
        });
        Assert.Equal(HttpStatusCode.Created, consent.StatusCode);

        var riverDoctor = Host.As("riverside physician");
        var granted = await riverDoctor.PostJsonAsync($"/patients/{patientId}/access", new { purpose = "treatment", categories = new[] { "conditions", "medications" } });
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var outcome = await granted.JsonAsync();
        Assert.Equal(["conditions"], outcome.GetProperty("categoriesReleased").EnumerateArray().Select(c => c.GetString()));
        var released = Assert.Single(outcome.GetProperty("entries").EnumerateArray());
        Assert.Equal("Uses inhaler when running.", released.GetProperty("text").GetString());

        var denied = await riverDoctor.PostJsonAsync($"/patients/{patientId}/access", new { purpose = "research", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        var problem = await denied.JsonAsync();
        Assert.Equal("no active consent covers the request", problem.GetProperty("detail").GetString());
        Assert.Equal(5, await Host.StreamLengthAsync(patientId)); // registered, entry, consent, granted, denied

        var audit = await patient.GetAsync($"/patients/{patientId}/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        var items = (await audit.JsonAsync()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["patient-registered", "entry-added", "consent-granted", "access-granted", "access-denied"],
            items.Select(i => i.GetProperty("action").GetString()));
        var deniedRow = items[^1];
        Assert.Equal("riverside-physician", deniedRow.GetProperty("actor").GetProperty("id").GetString());
        Assert.Equal("riverside", deniedRow.GetProperty("actor").GetProperty("hospital").GetString());
        Assert.Equal("research", deniedRow.GetProperty("purpose").GetString());
        Assert.Equal("denied", deniedRow.GetProperty("outcome").GetString());
        Assert.Equal("no active consent covers the request", deniedRow.GetProperty("reason").GetString());
        Assert.Equal(problem.GetProperty("receipt").GetProperty("hash").GetString(), deniedRow.GetProperty("hash").GetString());
        Assert.Equal(
            problem.GetProperty("receipt").GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()),
            deniedRow.GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.True(deniedRow.GetProperty("endorsedBy").GetArrayLength() >= 2);
        Assert.Equal(consent.Headers.Location!.ToString().Split('/')[^1], items[3].GetProperty("consentId").GetString());

        var onlyDenied = await (await patient.GetAsync($"/patients/{patientId}/audit?action=access-denied")).JsonAsync();
        Assert.Single(onlyDenied.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.Forbidden, (await riverDoctor.GetAsync($"/patients/{patientId}/audit")).StatusCode);

        var verification = await (await patient.GetAsync($"/patients/{patientId}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean());
        Assert.Equal(5, verification.GetProperty("events").GetInt64());

        var logs = string.Join('\n', Host.Logs.Lines);
        Assert.DoesNotContain("Erin Walkthrough", logs);
        Assert.DoesNotContain("inhaler", logs);
        Assert.DoesNotContain("Asthma", logs);
        Assert.DoesNotContain(Host.Token("riverside physician"), logs);
    }

    [SkippableTheory]
    [InlineData("not json at all", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"homeHospital\":\"northside\",\"birthYear\":\"nineteen\",\"sex\":\"male\",\"name\":\"X\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"homeHospital\":\"northside\",\"birthYear\":1990,\"sex\":\"male\",\"name\":\"X\",\"ssn\":\"123\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"homeHospital\":\"northside\",\"birthYear\":1990,\"sex\":\"robot\",\"name\":\"\"}", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("{\"homeHospital\":\"northside\"}", "text/plain", HttpStatusCode.UnsupportedMediaType)]
    public async Task Bad_registration_input_is_a_problem_and_stores_nothing(string body, string contentType, HttpStatusCode expected)
    {
        var response = await Host.As("northside physician").PostAsync("/patients", new StringContent(body, Encoding.UTF8, contentType));
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountPatientStreamsAsync());
    }

    [SkippableFact]
    public async Task Oversized_body_is_413_and_stores_nothing()
    {
        var response = await Host.As("northside physician").PostJsonAsync("/patients",
            new { homeHospital = "northside", birthYear = 1990, sex = "male", name = new string('x', 40_000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await CountPatientStreamsAsync());
    }

    [SkippableFact]
    public async Task Ids_that_do_not_parse_are_not_found()
    {
        var response = await Host.As("riverside physician").PostJsonAsync("/patients/not-a-guid/access", new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [SkippableFact]
    public async Task Unknown_patient_is_404_problem()
    {
        var response = await Host.As("riverside physician").PostJsonAsync($"/patients/{Guid.NewGuid()}/access", new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("patient-not-found", (await response.JsonAsync()).GetProperty("code").GetString());
    }

    /// <summary>
    /// Read-your-writes: a command's effect is in the patient's very next read of their trail, with no retry — the read
    /// waits for the audit view to reach the position of the patient's last event (on EventStoreDB, the one the
    /// append's reply gave).
    /// </summary>
    [SkippableFact]
    public async Task Each_command_shows_in_the_patients_very_next_audit_read()
    {
        var doctor = Host.As("northside physician");
        var registered = await doctor.PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1990, sex = "male", name = "Rory Reads" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patientId = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        var patient = Host.Client(Host.Mint("northside", "rory", Role.Patient, patientId));

        for (var i = 1; i <= 5; i++)
        {
            var entry = await doctor.PostJsonAsync($"/patients/{patientId}/entries", new
            {
                category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "J45", display = "Asthma" }, text = $"Visit {i}.",
            });
            Assert.Equal(HttpStatusCode.Created, entry.StatusCode);
            var hash = (await entry.JsonAsync()).GetProperty("receipt").GetProperty("hash").GetString();

            var items = (await (await patient.GetAsync($"/patients/{patientId}/audit")).JsonAsync()).GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(1 + i, items.Count);
            Assert.Equal(hash, items[^1].GetProperty("hash").GetString());
        }
    }

    /// <summary>
    /// A retry whose first attempt landed but went unanswered (the service failed after appending, as a command caught by
    /// a failover does, and gave its Idempotency-Key back) is not recorded again, even decided at a later version of the
    /// stream, and a retried registration never makes a second patient. On EventStoreDB nothing in the store refuses
    /// either: the retry knows from its key that an earlier attempt ran, and looks for its events first.
    /// </summary>
    [SkippableFact]
    public async Task A_retry_whose_first_attempt_landed_unanswered_is_recorded_once()
    {
        var doctor = Host.As("northside physician");
        var registration = new { homeHospital = "northside", birthYear = 1990, sex = "female", name = "Lost Answer" };
        var registrationKey = Guid.NewGuid();
        var registered = await PostWithKeyAsync(doctor, "/patients", registration, registrationKey);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patientId = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        // Without a consent the access is denied, and the denial is recorded: an event like any other.
        var access = new { purpose = "treatment", categories = new[] { "conditions" } };
        var accessKey = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Forbidden, (await PostWithKeyAsync(doctor, $"/patients/{patientId}/access", access, accessKey)).StatusCode);
        // The stream moves on: a retry is decided at a later version than its first attempt was.
        Assert.Equal(HttpStatusCode.Forbidden, (await PostWithKeyAsync(doctor, $"/patients/{patientId}/access", access, Guid.NewGuid())).StatusCode);
        var before = await Host.CountsAsync();
        await Host.ExecuteSqlAsync($"""
            UPDATE he_idempotency SET status = NULL, content_type = NULL, body = NULL, released = true
             WHERE key IN ('{registrationKey}', '{accessKey}')
            """);

        var registrationRetry = await PostWithKeyAsync(doctor, "/patients", registration, registrationKey);
        var accessRetry = await PostWithKeyAsync(doctor, $"/patients/{patientId}/access", access, accessKey);

        Assert.Equal(HttpStatusCode.Conflict, registrationRetry.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, accessRetry.StatusCode);
        Assert.Equal("command-already-applied", (await accessRetry.JsonAsync()).GetProperty("code").GetString());
        Assert.Equal(before, await Host.CountsAsync());
    }

    private static Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string route, object body, Guid key) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, route)
        {
            Content = System.Net.Http.Json.JsonContent.Create(body, options: HealthEvents.Application.Serialization.Json.Options),
            Headers = { { "Idempotency-Key", key.ToString() } },
        });

    private async Task<int> CountPatientStreamsAsync()
    {
        var store = Host.Services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
        var all = await store.ReadAllAsync(null, 100_000);
        // Only the demo patients exist.
        return all.Select(e => e.StreamId).Where(s => s.StartsWith("patient-", StringComparison.Ordinal)).Distinct().Count() - 3;
    }
}

/// <summary>The walk-through on PostgreSQL, and what an attacker with SQL access to the events table can do.</summary>
public sealed class WalkThroughTests() : WalkThroughSpec(TestStore.PostgreSql)
{
    [Fact]
    public async Task Verification_reports_an_endorsement_taken_from_another_transaction_at_its_version()
    {
        const string alice = "a11ce000-0000-4000-8000-000000000001", bob = "b0b00000-0000-4000-8000-000000000002";
        var patient = Host.As("alice (patient)");
        var before = await (await patient.GetAsync($"/patients/{alice}/verification")).JsonAsync();
        Assert.True(before.GetProperty("verified").GetBoolean());

        // Genuine signatures, but over Bob's transaction hash: the chain is intact, the endorsement is not.
        await Host.ExecuteSqlAsync($"""
            UPDATE he_events SET endorsement = (SELECT endorsement FROM he_events WHERE stream_id = 'patient-{bob}' AND version = 0)
             WHERE stream_id = 'patient-{alice}' AND version = 2
            """);

        var after = await (await patient.GetAsync($"/patients/{alice}/verification")).JsonAsync();
        Assert.False(after.GetProperty("verified").GetBoolean());
        Assert.Equal(2, after.GetProperty("firstBrokenVersion").GetInt64());
        Assert.Contains(after.GetProperty("problems").EnumerateArray(), p => p.GetProperty("version").GetInt64() == 2);
    }
}
