using System.Net;
using System.Text.Json;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The patient's live audit stream (<c>GET /patients/{id}/audit/live</c>) over real HTTP, fed by the audit view as the
/// projection runner advances it from either store (<see cref="LiveAuditTests"/> on PostgreSQL,
/// <see cref="LiveAuditOnEventStoreDbTests"/> on EventStoreDB).
/// </summary>
public abstract class LiveAuditSpec(TestStore store) : ServiceOnStore(store)
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");

    [SkippableFact]
    public async Task A_new_access_arrives_as_it_happens_and_a_reconnect_resumes_after_the_last_event_id()
    {
        var alice = Host.As("alice (patient)");
        await LiveStream.AuditCaughtUpAsync(alice, Alice);
        var (live, ready) = await LiveStream.OpenAsync(alice, Alice);
        string readyId, accessId, emergencyId;
        await using (live)
        {
            // Without Last-Event-ID the stream starts at the newest row: nothing old is sent again.
            Assert.False(string.IsNullOrEmpty(ready.EventId));
            readyId = ready.EventId!;
            Assert.True(JsonDocument.Parse(ready.Data).RootElement.GetProperty("heartbeatSeconds").GetInt32() > 0);

            var access = await Host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access", new { purpose = "treatment", categories = new[] { "conditions" } });
            Assert.Equal(HttpStatusCode.OK, access.StatusCode);
            var (row, id, data) = await live.NextRowAsync();
            accessId = id;
            Assert.Equal("access-granted", row.GetProperty("action").GetString());
            Assert.Equal("riverside-physician", row.GetProperty("actor").GetProperty("id").GetString());
            // Exactly what the audit route gives the same patient for that row: nothing more, nothing less.
            var newest = (await (await alice.GetAsync($"/patients/{Alice}/audit?order=newest&limit=1")).JsonAsync()).GetProperty("items")[0];
            Assert.Equal(newest.GetRawText(), data);

            var emergency = await Host.As("lakeside physician").PostJsonAsync($"/patients/{Alice}/emergency-access", new { reason = "Found unconscious." });
            Assert.Equal(HttpStatusCode.OK, emergency.StatusCode);
            (row, emergencyId, _) = await live.NextRowAsync();
            Assert.Equal("emergency-access", row.GetProperty("action").GetString());
            Assert.Equal("emergency", row.GetProperty("outcome").GetString());
        }

        // Reconnecting with the last id seen sends what came since, in order, under the same ids.
        var (resumed, again) = await LiveStream.OpenAsync(alice, Alice, lastEventId: readyId);
        await using (resumed)
        {
            Assert.Equal(readyId, again.EventId);
            Assert.Equal(accessId, (await resumed.NextRowAsync()).Id);
            Assert.Equal(emergencyId, (await resumed.NextRowAsync()).Id);
        }
        var (later, _) = await LiveStream.OpenAsync(alice, Alice, lastEventId: accessId);
        await using (later) Assert.Equal(emergencyId, (await later.NextRowAsync()).Id);

        // The token travels in a header, never in a URL, and no log line holds it.
        var token = Host.Token("alice (patient)");
        Assert.DoesNotContain(Host.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task A_consent_narrowed_elsewhere_arrives_too()
    {
        var alice = Host.As("alice (patient)");
        await LiveStream.AuditCaughtUpAsync(alice, Alice);
        var (live, _) = await LiveStream.OpenAsync(alice, Alice);
        await using var _ = live;
        var granted = await alice.PostJsonAsync($"/patients/{Alice}/consents", new
        {
            grantee = new { kind = "hospital", id = "lakeside" }, categories = new[] { "conditions", "medications" }, purposes = new[] { "treatment" }, actions = new[] { "read" },
        });
        var consentId = (await granted.JsonAsync()).GetProperty("consentId").GetGuid();
        Assert.Equal("consent-granted", (await live.NextRowAsync()).Row.GetProperty("action").GetString());

        var narrowed = await alice.PostJsonAsync($"/patients/{Alice}/consents/{consentId}/narrow", new { categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.OK, narrowed.StatusCode);
        var (row, _, _) = await live.NextRowAsync();
        Assert.Equal("consent-narrowed", row.GetProperty("action").GetString());
        Assert.Equal(["conditions"], row.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("lakeside", row.GetProperty("grantee").GetProperty("id").GetString());
    }
}

public sealed class LiveAuditTests() : LiveAuditSpec(TestStore.PostgreSql);

public sealed class LiveAuditOnEventStoreDbTests() : LiveAuditSpec(TestStore.EventStoreDb);
