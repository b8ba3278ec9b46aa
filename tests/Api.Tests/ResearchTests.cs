using HealthEvents.TestSupport;
using System.Net;
using System.Text.Json;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Projections;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Research projections over HTTP against the seeded demo: alice and bob consented to research, carol did not — on
/// either store (<see cref="ResearchTests"/>, <see cref="ResearchOnEventStoreDbTests"/>).
/// </summary>
public abstract class ResearchSpec(TestStore store) : ServiceOnStore(store)
{
    private async Task<long> LogLengthAsync()
    {
        var store = Host.Services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
        long count = 0;
        HealthEvents.Application.Ports.GlobalPosition? after = null;
        while (await store.ReadAllAsync(after, 1000) is { Count: > 0 } batch)
        {
            count += batch.Count;
            after = batch[^1].Position;
        }
        return count;
    }


    private static readonly DemoNetwork.DemoPatient Alice = DemoNetwork.Patients[0], Bob = DemoNetwork.Patients[1], Carol = DemoNetwork.Patients[2];

    private async Task<JsonElement> LiveAsync(HttpClient researcher, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await researcher.GetAsync($"/research/projections/{name}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.JsonAsync();
            var status = body.GetProperty("status").GetString();
            if (status == "live") return body;
            Assert.Equal("building", status);
            Assert.True(DateTime.UtcNow < deadline, "the research projection did not become live");
            await Task.Delay(100);
        }
    }

    /// <summary>The patient's research-use rows, once the audit view has applied everything in the research stream.</summary>
    private async Task<List<JsonElement>> ResearchUsesAsync(DemoNetwork.DemoPatient p)
    {
        var store = Host.Services.GetRequiredService<IEventStore>();
        if (await store.ReadLastAsync(ResearchStream.StreamId) is { Position: { } last })
            Assert.True(await Host.Services.GetRequiredService<ProjectionRunner>().WaitForAsync(AuditProjection.ProjectionName, last, Patience.Deadline));
        var patient = Host.As($"{p.Subject} (patient)");
        return (await (await patient.GetAsync($"/patients/{p.Id}/audit?action=research-use")).JsonAsync()).GetProperty("items").EnumerateArray().ToList();
    }

    [SkippableFact]
    public async Task A_researcher_declares_a_projection_reads_k_anonymous_rows_and_each_counted_patient_sees_the_use()
    {
        var researcher = Host.As("researcher");
        var declared = await researcher.PostJsonAsync("/research/projections", new { name = "demo-by-sex", groupBy = new[] { "sex" }, k = 2 });
        Assert.Equal(HttpStatusCode.Created, declared.StatusCode);
        Assert.Equal("/research/projections/demo-by-sex", declared.Headers.Location!.ToString());
        var receipt = (await declared.JsonAsync()).GetProperty("receipt");
        Assert.Equal(64, receipt.GetProperty("hash").GetString()!.Length);
        Assert.Equal("research-demo-by-sex", (await declared.JsonAsync()).GetProperty("projection").GetString());

        var live = await LiveAsync(researcher, "demo-by-sex");
        // Alice (female) and Bob (male) consented to research; Carol did not. One per cell, k = 2: both cells
        // suppressed (each alone, and each would give the other away from the total), the total of 2 published.
        var rows = live.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["female", "male"], rows.Select(r => r.GetProperty("group").GetProperty("sex").GetString()));
        Assert.All(rows, r => Assert.True(r.GetProperty("suppressed").GetBoolean() && r.GetProperty("count").ValueKind == JsonValueKind.Null));
        Assert.Equal(2, live.GetProperty("total").GetProperty("count").GetInt32());
        var progress = live.GetProperty("progress");
        Assert.True(progress.GetProperty("eventsDone").GetInt64() > 0);
        Assert.Equal(progress.GetProperty("eventsDone").GetInt64(), progress.GetProperty("eventsTotal").GetInt64());
        var served = live.GetRawText();
        foreach (var p in DemoNetwork.Patients)
        {
            Assert.DoesNotContain(p.Id.ToString(), served, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(p.Name, served, StringComparison.Ordinal);
        }

        // Alice and Bob see the use in their audit trail, Carol does not; the researcher is the actor.
        var aliceUses = await ResearchUsesAsync(Alice);
        var use = Assert.Single(aliceUses);
        Assert.Equal("researcher-1", use.GetProperty("actor").GetProperty("id").GetString());
        Assert.Equal("researcher", use.GetProperty("actor").GetProperty("role").GetString());
        Assert.Equal("demo-by-sex", use.GetProperty("researchProjection").GetString());
        Assert.Equal("research", use.GetProperty("purpose").GetString());
        Assert.Equal("research", use.GetProperty("sourceStream").GetString());
        Assert.True(use.GetProperty("endorsedBy").GetArrayLength() >= 2, "the publication is endorsed like any transaction");
        Assert.Equal(["conditions", "medications"], use.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.Single(await ResearchUsesAsync(Bob));
        Assert.Empty(await ResearchUsesAsync(Carol));

        // The same result served again is the same publication: no second row.
        Assert.Equal(HttpStatusCode.OK, (await researcher.GetAsync("/research/projections/demo-by-sex")).StatusCode);
        Assert.Single(await ResearchUsesAsync(Alice));

        // The research documents stored for it hold no patient id, name or entry text of the seeded history.
        var readModels = Host.Services.GetRequiredService<ReadModelStore>();
        await using var conn = new NpgsqlConnection(readModels.ConnectionString);
        await conn.OpenAsync();
        var stored = new List<string>();
        await using (var cmd = new NpgsqlCommand(
            "SELECT id::text || ' ' || data::text FROM readmodels.mt_doc_researchsubject UNION ALL SELECT id::text || ' ' || data::text FROM readmodels.mt_doc_researchkey", conn))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) stored.Add(reader.GetString(0));
        Assert.Equal(3, stored.Count); // alice, bob, the key
        string[] texts = ["Diagnosed after routine blood work", "Metformin 500 mg", "Rash after amoxicillin", "counsellor", "HbA1c 6.1", "Second dose"];
        foreach (var row in stored)
        {
            foreach (var p in DemoNetwork.Patients)
            {
                Assert.DoesNotContain(p.Id.ToString(), row, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(p.Id.ToString("N"), row, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(p.Name, row, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(p.Subject, row, StringComparison.OrdinalIgnoreCase);
            }
            foreach (var text in texts) Assert.DoesNotContain(text, row, StringComparison.OrdinalIgnoreCase);
        }
    }

    [SkippableFact]
    public async Task Declarations_are_validated_and_reading_is_for_the_declaring_researcher_only()
    {
        var researcher = Host.As("researcher");
        var bad = await researcher.PostJsonAsync("/research/projections", new
        {
            name = "Bad Name", groupBy = new[] { "sex", "shoe-size" }, k = 1,
            filter = new { categories = new[] { "conditions", "horoscope" }, from = "2025-01-01T00:00:00Z", to = "2024-01-01T00:00:00Z" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.JsonAsync()).GetProperty("errors");
        foreach (var field in new[] { "name", "k", "groupBy[1]", "filter.categories[1]", "filter.to" })
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");

        Assert.Equal(HttpStatusCode.Created, (await researcher.PostJsonAsync("/research/projections", new { name = "labs", filter = new { categories = new[] { "lab-results" } } })).StatusCode);
        var again = await researcher.PostJsonAsync("/research/projections", new { name = "labs" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("research-projection-exists", (await again.JsonAsync()).GetProperty("code").GetString());

        var physician = Host.As("northside physician");
        Assert.Equal(HttpStatusCode.Forbidden, (await physician.PostJsonAsync("/research/projections", new { name = "mine" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await physician.GetAsync("/research/projections/labs")).StatusCode);
        // An unregistered researcher is not even authenticated; another registered researcher cannot read someone else's rows.
        var unregistered = Host.Client(Host.Mint("lakeside", "researcher-9", Role.Researcher));
        Assert.Equal(HttpStatusCode.Unauthorized, (await unregistered.PostJsonAsync("/research/projections", new { name = "mine" })).StatusCode);
        await Host.Services.GetRequiredService<NetworkStream>().ExecuteAsync(
            at => new RegisterResearcher("researcher-2", "Riverside Institute", new Actor("riverside-admin", Role.Admin, "riverside"), at),
            CommandContext.For(new Actor("riverside-admin", Role.Admin, "riverside")), CancellationToken.None);
        var other = Host.Client(Host.Mint("riverside", "researcher-2", Role.Researcher));
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/research/projections/labs")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await other.PostJsonAsync("/research/projections", new { name = "theirs" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await researcher.GetAsync("/research/projections/nothing-here")).StatusCode);

        // Default k is 5: bob alone (lab results) is not published; nobody is recorded as used.
        var labs = await LiveAsync(researcher, "labs");
        Assert.Equal(5, labs.GetProperty("definition").GetProperty("k").GetInt32());
        Assert.True(labs.GetProperty("total").GetProperty("suppressed").GetBoolean());
        Assert.Empty(await ResearchUsesAsync(Bob));
    }

    [SkippableFact]
    public async Task A_declared_projection_is_rebuildable_by_name_and_stays_live_afterwards()
    {
        var researcher = Host.As("researcher");
        Assert.Equal(HttpStatusCode.Created, (await researcher.PostJsonAsync("/research/projections", new { name = "rebuild-me", groupBy = new[] { "age-band" }, k = 2 })).StatusCode);
        var before = (await LiveAsync(researcher, "rebuild-me")).GetProperty("rows").GetRawText();

        var rebuilder = Host.Services.GetRequiredService<ProjectionRebuilder>();
        var logBefore = await LogLengthAsync();
        var done = await rebuilder.RebuildAsync("research-rebuild-me");
        Assert.Equal(RebuildPhase.Completed, done.Phase);
        // Everything the log held when the rebuild began was read again: counted from the store, not the rebuild's report.
        Assert.True(done.EventsDone >= logBefore, $"rebuilt from {done.EventsDone} events, the log held {logBefore}");
        Assert.Contains("research-rebuild-me", rebuilder.ProjectionNames);
        Assert.Equal(before, (await LiveAsync(researcher, "rebuild-me")).GetProperty("rows").GetRawText());
    }
}

/// <summary>The research tests on PostgreSQL.</summary>
public sealed class ResearchTests() : ResearchSpec(TestStore.PostgreSql);

/// <summary>The research tests with the service's events on EventStoreDB (projections rebuilt from its $all).</summary>
public sealed class ResearchOnEventStoreDbTests() : ResearchSpec(TestStore.EventStoreDb);
