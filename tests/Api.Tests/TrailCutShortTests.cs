using System.Net;
using System.Text.Json.Nodes;
using HealthEvents.Domain.Common;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A trail cut short after the ledger took it in (issue 12's attack): a chain that ends early still links up, so the
/// server's verification, the CLI's and the patient's browser must each hold it against the ledger — and the browser
/// against what it verified before, whatever the server answers. Each test uses patients of its own: deleting events
/// stalls this host's ledger (its witnesses no longer find the signed leaves), which other classes must not feel.
/// </summary>
public sealed class TrailCutShortTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Bob = "b0b00000-0000-4000-8000-000000000002";
    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task The_last_event_deleted_after_the_ledger_took_it_in_is_named_by_the_verification_and_by_verify()
    {
        var (patient, token) = await PatientAsync("Cut Server");
        var last = await LedgeredAsync(patient, token);
        var client = Host.Client(token);
        Assert.True((await (await client.GetAsync($"/patients/{patient}/verification")).JsonAsync()).GetProperty("verified").GetBoolean());

        await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = 'patient-{patient}' AND version = {last}");

        // The chain of what is left links up: only the ledger knows there was more.
        var report = await (await client.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(report.GetProperty("verified").GetBoolean(), report.ToString());
        Assert.Equal(last, report.GetProperty("firstBrokenVersion").GetInt64());
        Assert.Contains(report.GetProperty("problems").EnumerateArray(),
            p => p.GetProperty("code").GetString() == "missing-event" && p.GetProperty("version").GetInt64() == last);
        // The envelopes still name the ledgered event the stream lacks, so the browser can name it too.
        var envelopes = await (await client.GetAsync($"/patients/{patient}/envelopes")).JsonAsync();
        Assert.Equal(last, envelopes.GetProperty("ledger").GetProperty("provenVersion").GetInt64());
        Assert.Equal(last, envelopes.GetProperty("events").GetArrayLength());

        // `verify` over the whole store names the stream and the version.
        var verify = await ServiceProcess.RunAsync(Host.DataFolder, new Dictionary<string, string?>
        {
            ["ConnectionStrings__Postgres"] = Host.ConnectionString,
            ["HEALTHEVENTS_DATA"] = Host.DataFolder,
        }, "verify");
        Assert.True(verify.ExitCode == 1, verify.Stderr + verify.Stdout);
        Assert.Contains($"patient-{patient} v{last}: missing-event: ", verify.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_page_names_a_trail_cut_short_in_the_store_with_or_without_a_memory_of_it()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        await using var verified = await VerifiedOnceAsync("Cut Page");
        var (page, patient, token, last) = (verified.Page, verified.Patient, verified.Token, verified.Last);

        await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = 'patient-{patient}' AND version = {last}");

        // This browser remembers version {last}; a browser that never saw the trail learns it from the ledger's proof.
        await VerifyAsync(page);
        await Expect(page.Locator("#verify-result")).ToContainTextAsync($"Broken at version {last}");
        await Expect(page.Locator("#verify-result")).ToContainTextAsync("shorter than when this browser last verified it");
        var stranger = await SignedInAsync(verified.Browser, token);
        await VerifyAsync(stranger);
        await Expect(stranger.Locator("#verify-result")).ToContainTextAsync($"Broken at version {last}");
        await Expect(stranger.Locator("#verify-result")).ToContainTextAsync($"Version {last} is gone from your trail, though the ledger's signed tree head includes it");
    }

    [SkippableFact]
    public async Task A_server_that_leaves_out_the_ledger_cuts_the_trail_or_answers_with_another_stream_is_not_believed()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        await using var verified = await VerifiedOnceAsync("Lied To");
        var (page, patient, token, last) = (verified.Page, verified.Patient, verified.Token, verified.Last);

        // From here on the server lies about the envelopes: each answer below is rewritten before the page sees it.
        Func<JsonObject, Task> lie = _ => Task.CompletedTask;
        await page.RouteAsync("**/envelopes", async route =>
        {
            var response = await route.FetchAsync();
            var view = JsonNode.Parse(await response.TextAsync())!.AsObject();
            await lie(view);
            await route.FulfillAsync(new() { Response = response, Body = view.ToJsonString() });
        });
        var result = page.Locator("#verify-result");

        // No signed tree head, once this browser has seen one: the ledger check is not skipped.
        lie = view => { view["ledger"] = null; return Task.CompletedTask; };
        await VerifyAsync(page);
        await Expect(result).ToHaveClassAsync("broken");
        await Expect(result).ToContainTextAsync("carries no signed tree head, though this browser saw one");

        // No inclusion proof: not "none of your events yet" for a trail the ledger proved before.
        lie = view => { view["ledger"]!["inclusion"] = null; return Task.CompletedTask; };
        await VerifyAsync(page);
        await Expect(result).ToHaveClassAsync("broken");
        await Expect(result).ToContainTextAsync($"The ledger proved your trail up to version {last} before; this answer proves none of it");

        // The last two events left out, with a genuine proof of the event before them.
        lie = async view =>
        {
            var events = view["events"]!.AsArray();
            events.RemoveAt(events.Count - 1);
            events.RemoveAt(events.Count - 1);
            var kept = events[^1]!;
            var ledger = view["ledger"]!;
            var proof = await Host.Client(token).GetAsync(
                $"/ledger/proofs/inclusion?eventId={kept["eventId"]}&treeSize={ledger["inclusion"]!["treeSize"]}");
            ledger["inclusion"] = JsonNode.Parse(await proof.Content.ReadAsStringAsync());
            ledger["provenEventId"] = kept["eventId"]!.GetValue<string>();
            ledger["provenVersion"] = kept["version"]!.GetValue<long>();
        };
        await VerifyAsync(page);
        await Expect(result).ToContainTextAsync($"Broken at version {last - 1}");
        await Expect(result).ToContainTextAsync($"it reached version {last}, now it ends at version {last - 2}");

        // Another patient's stream, intact and endorsed, is not this patient's trail.
        var bobs = await (await Host.As("bob (patient)").GetAsync($"/patients/{Bob}/envelopes")).Content.ReadAsStringAsync();
        lie = view =>
        {
            foreach (var (name, value) in JsonNode.Parse(bobs)!.AsObject().ToList()) view[name] = value?.DeepClone();
            return Task.CompletedTask;
        };
        await VerifyAsync(page);
        await Expect(result).ToContainTextAsync("Broken at version 0");
        await Expect(result).ToContainTextAsync($"This answer holds the stream 'patient-{Bob}', not yours ('patient-{patient}')");

        // The truth again: verified, and nothing the lies showed was remembered.
        lie = _ => Task.CompletedTask;
        await VerifyAsync(page);
        await Expect(result).ToHaveClassAsync("ok");
        await Expect(result).ToContainTextAsync($"includes your trail up to version {last}");
    }

    /// <summary>A browser with a page signed in as <see cref="Patient"/>, whose trail up to <see cref="Last"/> it verified once (and so remembers).</summary>
    private sealed record Verified(IPlaywright Playwright, IBrowser Browser, IPage Page, Guid Patient, string Token, long Last) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            Playwright.Dispose();
        }
    }

    /// <summary>A patient of the test's own whose trail the ledger covers, signed in and verified in a browser: green, up to the last version.</summary>
    private async Task<Verified> VerifiedOnceAsync(string name)
    {
        var (patient, token) = await PatientAsync(name);
        var last = await LedgeredAsync(patient, token);
        var (playwright, browser) = await Browser.LaunchAsync();
        var page = await SignedInAsync(browser, token);
        await VerifyAsync(page);
        await Expect(page.Locator("#verify-result")).ToHaveClassAsync("ok");
        await Expect(page.Locator("#verify-result")).ToContainTextAsync($"includes your trail up to version {last}");
        return new Verified(playwright, browser, page, patient, token, last);
    }

    /// <summary>A patient of the test's own (registered at Lakeside, with three entries: versions 0 to 3) and a token for them.</summary>
    private async Task<(Guid Patient, string Token)> PatientAsync(string name)
    {
        var physician = Host.As("lakeside physician");
        var registered = await physician.PostJsonAsync("/patients", new { homeHospital = "lakeside", birthYear = 1970, sex = "male", name });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        foreach (var code in (string[])["I10", "E11", "J45"])
            Assert.Equal(HttpStatusCode.Created, (await physician.PostJsonAsync($"/patients/{patient}/entries",
                new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code }, text = "Noted." })).StatusCode);
        return (patient, Host.Mint("lakeside", name.ToLowerInvariant().Replace(' ', '-'), Role.Patient, patient));
    }

    /// <summary>Waits (a head is signed every few seconds) until the signed tree head proves the patient's last event; its version.</summary>
    private async Task<long> LedgeredAsync(Guid patient, string token)
    {
        var client = Host.Client(token);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < HealthEvents.TestSupport.Patience.Deadline)
        {
            var view = await (await client.GetAsync($"/patients/{patient}/envelopes")).JsonAsync();
            var last = view.GetProperty("events")[view.GetProperty("events").GetArrayLength() - 1];
            if (view.GetProperty("ledger") is { ValueKind: System.Text.Json.JsonValueKind.Object } ledger
                && ledger.GetProperty("provenEventId").ToString() == last.GetProperty("eventId").GetString())
                return last.GetProperty("version").GetInt64();
            await Task.Delay(200);
        }
        throw new TimeoutException("No signed tree head came to cover the patient's trail.");
    }

    private async Task<IPage> SignedInAsync(IBrowser browser, string token)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        await page.GetByLabel("Your patient token (from your home hospital)").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator("#audit-list")).ToContainTextAsync("Registered you");
        return page;
    }

    /// <summary>Presses "Verify my trail" and waits for the verdict (the result is emptied first, so an old one is never read).</summary>
    private static async Task VerifyAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        await Expect(page.Locator("#verify-result p").First).ToBeVisibleAsync();
        await Expect(page.Locator("#verify-result")).Not.ToHaveTextAsync("Checking…");
    }
}
