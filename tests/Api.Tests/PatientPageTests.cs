using System.Net;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace HealthEvents.Api.Tests;

/// <summary>The patient's page in a real browser (issue 12): sign in, trail, consents, record, verification, tampering.</summary>
public sealed class PatientPageTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private const string Bob = "b0b00000-0000-4000-8000-000000000002";
    private const string Carol = "ca501000-0000-4000-8000-000000000003";
    private ServiceHost Host => fixture.Host;

    [SkippableFact]
    public async Task A_patient_reads_the_trail_grants_and_revokes_verifies_and_sees_a_changed_byte()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        // A denied attempt, so the trail has something that must stand out.
        var denied = await Host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access", new { purpose = "research", categories = new[] { "conditions" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);

        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 1000 } });
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };

        await page.GotoAsync(Host.Address.ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as alice (patient)" }).ClickAsync();

        // The trail, newest first: the refused research access on top, marked denied; who, by name and hospital name.
        var first = page.Locator("#audit-list > li").First;
        await Expect(first).ToContainTextAsync("Was refused access");
        await Expect(first).ToHaveClassAsync("denied");
        await Expect(first).ToContainTextAsync("By riverside-physician (physician, Riverside University Hospital)");
        await Expect(page.Locator("#audit-list")).ToContainTextAsync("Consent granted");
        Assert.Equal("", await page.EvaluateAsync<string>("() => Object.keys(localStorage).join()"));
        Assert.NotNull(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('healthevents.token')"));

        // Filters go to the server.
        await page.SelectOptionAsync("#f-action", "consent-granted");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator("#audit-list > li")).ToHaveCountAsync(3);
        await page.SelectOptionAsync("#f-action", "");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();

        // Grant Lakeside conditions for treatment: sensitive categories start unticked.
        await Expect(page.GetByLabel("mental-health")).Not.ToBeCheckedAsync();
        await page.SelectOptionAsync("#g-grantee", "hospital:lakeside");
        await page.GetByLabel("conditions", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent granted.");
        await Expect(page.Locator("#consent-lists")).ToContainTextAsync("Lakeside Clinic may read conditions for treatment");

        // ... and revoke it, once the patient confirms (keeping it first): it moves to the past consents.
        var revoke = page.GetByRole(AriaRole.Button, new() { Name = "Revoke the consent for hospital lakeside" });
        await revoke.ClickAsync();
        var confirm = page.GetByRole(AriaRole.Group, new() { Name = "Confirm revoking the consent for hospital lakeside" });
        await Expect(confirm).ToContainTextAsync("cannot be undone");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Keep it" }).ClickAsync();
        await Expect(confirm).ToHaveCountAsync(0);
        await Expect(revoke).ToBeVisibleAsync();
        await revoke.ClickAsync();
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Yes, revoke the consent for hospital lakeside" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent revoked.");
        await Expect(revoke).ToHaveCountAsync(0);
        // The trail says which consent ended, in words.
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("Consent revoked");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("Ended: the consent to Lakeside Clinic for conditions");

        // A practitioner of the network is a grantee too, named with role and hospital.
        await page.SelectOptionAsync("#g-grantee", "practitioner:riverside-physician");
        await page.GetByLabel("allergies", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent granted.");
        await Expect(page.Locator("#consent-lists")).ToContainTextAsync("riverside-physician (physician, Riverside University Hospital) may read allergies for treatment");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("To: riverside-physician (physician, Riverside University Hospital)");

        // A grant the domain refuses says so once, with the field's own complaint (not the server's summary again).
        await page.SelectOptionAsync("#g-grantee", "hospital:lakeside");
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Not accepted; nothing was recorded. categories: At least one value is required.");

        // My record, decrypted, and the read is on the trail.
        await page.GetByRole(AriaRole.Button, new() { Name = "Show my record" }).ClickAsync();
        await Expect(page.Locator("#record-list")).ToContainTextAsync("Metformin");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("Read your record");

        // Verified, under a signed tree head this browser then remembers.
        var firstHead = await SignedTreeSizeAsync(above: 0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        var result = page.Locator("#verify-result");
        await Expect(result).ToContainTextAsync("Verified in your browser", new() { Timeout = 15000 });
        await Expect(result).ToContainTextAsync("includes your trail up to version");
        if (Environment.GetEnvironmentVariable("HEALTHEVENTS_SCREENSHOT") is { Length: > 0 } shot)
            await page.ScreenshotAsync(new() { Path = shot, FullPage = true });

        // The next visit's tree head must extend the remembered one (a consistency proof checked in the browser).
        var remembered = await page.EvaluateAsync<long>("() => JSON.parse(localStorage.getItem('healthevents.treeHead')).treeSize");
        Assert.True(remembered >= firstHead);
        Assert.Equal(HttpStatusCode.OK, (await Host.As("riverside physician").PostJsonAsync($"/patients/{Alice}/access", new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);
        await SignedTreeSizeAsync(above: remembered);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        await Expect(result).ToContainTextAsync($"It extends the tree head of {remembered} events", new() { Timeout = 15000 });

        // A remembered head the new one does not extend: a rewritten history, even a self-consistent one.
        await page.EvaluateAsync("size => localStorage.setItem('healthevents.treeHead', JSON.stringify({ treeSize: size, rootHash: '00'.repeat(32) }))", remembered);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        await Expect(result).ToContainTextAsync("history was rewritten", new() { Timeout = 15000 });
        await page.EvaluateAsync("() => localStorage.removeItem('healthevents.treeHead')");

        // An attacker with write access to the store changes one byte of version 2: the browser names it.
        await Host.ExecuteSqlAsync($"UPDATE he_events SET data = set_byte(data, 5, get_byte(data, 5) # 1) WHERE stream_id = 'patient-{Alice}' AND version = 2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        await Expect(result).ToContainTextAsync("Broken at version 2", new() { Timeout = 15000 });
        // The server's own verifier names the same version.
        var server = await (await Host.As("alice (patient)").GetAsync($"/patients/{Alice}/verification")).JsonAsync();
        Assert.Equal(2, server.GetProperty("firstBrokenVersion").GetInt64());
        // The same flip again undoes it: the shared demo host is left as the other tests expect it.
        await Host.ExecuteSqlAsync($"UPDATE he_events SET data = set_byte(data, 5, get_byte(data, 5) # 1) WHERE stream_id = 'patient-{Alice}' AND version = 2");

        Assert.DoesNotContain(consoleErrors, e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    [SkippableFact]
    public async Task A_patient_enrols_this_device_signs_a_consent_sees_it_signed_and_verified_and_a_replaced_key_stands_out()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        // A patient of her own (the demo patients' consents stay unsigned for the other tests), signing in with a pasted token.
        var registered = await Host.As("lakeside physician").PostJsonAsync("/patients", new { homeHospital = "lakeside", birthYear = 1988, sex = "female", name = "Fay Device" });
        var fay = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        var faysToken = Host.Mint("lakeside", "fay", HealthEvents.Domain.Common.Role.Patient, fay);
        // One browser profile (one IndexedDB: one device), two tabs of it in time.
        await using var device = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1100, Height = 1000 } });
        var page = await device.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        await page.GetByLabel("Your patient token (from your home hospital)").FillAsync(faysToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator("#device-status")).ToContainTextAsync("No device key is enrolled");

        // Enrol: the key pair is made here, its private half not extractable, kept in IndexedDB.
        await page.GetByRole(AriaRole.Button, new() { Name = "Enrol this device" }).ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("This device is enrolled: key ");
        var keyId = await page.EvaluateAsync<string>("""
            async (patient) => {
              const { localKey } = await import('/js/device-key.js');
              const key = await localKey(patient);
              let exported = 'exported';
              try { await crypto.subtle.exportKey('pkcs8', key.privateKey); } catch { exported = 'not extractable'; }
              return `${key.keyId} ${key.privateKey.extractable} ${exported}`;
            }
            """, fay.ToString());
        Assert.Matches("^[0-9a-f]{16} false not extractable$", keyId);
        keyId = keyId[..16];
        await Expect(page.Locator("#device-status")).ToContainTextAsync($"This device holds your key {keyId}");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("Enrolled your device key");

        // A consent signed here: granted, and the trail says who signed it.
        await page.SelectOptionAsync("#g-grantee", "hospital:riverside");
        await page.GetByLabel("vaccinations", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent granted, signed by you.");
        var granted = page.Locator("#audit-list > li").First;
        await Expect(granted).ToContainTextAsync("Consent granted");
        await Expect(granted).ToContainTextAsync($"Signed by you, with your device key {keyId}");

        // Narrowed on the device too: the signature covers the consent as it becomes.
        await page.GetByRole(AriaRole.Button, new() { Name = "Narrow the consent for hospital riverside" }).ClickAsync();
        await page.Locator("form.narrow input[name=until]").FillAsync(DateTimeOffset.UtcNow.AddDays(20).ToString("yyyy-MM-dd"));
        await page.Locator("form.narrow").GetByRole(AriaRole.Button, new() { Name = "Narrow" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent narrowed, signed by you.");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync($"Signed by you, with your device key {keyId}");

        // Verified in the browser, the patient's own signatures included.
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).ClickAsync();
        var result = page.Locator("#verify-result");
        await Expect(result).ToContainTextAsync("Verified in your browser", new() { Timeout = 15000 });
        await Expect(result).ToContainTextAsync("Signed by you: 2 consent decisions carry your device key's signature, and every one verifies here (2 made with this device's key)");

        // A second tab on this device whose live updates are cut off: it will not hear of what happens next.
        var unaware = await device.NewPageAsync();
        await unaware.RouteAsync("**/audit/live", route => route.AbortAsync());
        await unaware.GotoAsync(Host.Address.ToString());
        await unaware.GetByLabel("Your patient token (from your home hospital)").FillAsync(faysToken);
        await unaware.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(unaware.Locator("#device-status")).ToContainTextAsync($"This device holds your key {keyId}");

        // The device is lost: Lakeside's admin enrols another (as the patient's new device would hand it over). The open
        // page hears of it at once: an alert, and the device card no longer claims this device holds the key.
        using var other = new TestDeviceKey();
        var replaced = await Host.As("lakeside admin").PostJsonAsync($"/patients/{fay}/device-key", other.Enrolment(fay, "Phone lost; identity checked at the desk."));
        Assert.Equal(HttpStatusCode.Created, replaced.StatusCode);
        var alert = page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Your device key was replaced by Lakeside Clinic (lakeside-admin)" });
        await Expect(alert).ToBeVisibleAsync();
        await Expect(alert).ToContainTextAsync("“Phone lost; identity checked at the desk.”");
        await Expect(page.Locator("#device-status")).ToContainTextAsync($"This device's key {keyId} was replaced by Lakeside Clinic (lakeside-admin)");
        await Expect(page.Locator("#device-status")).ToContainTextAsync($"Your key now is {other.KeyId}, which is not on this device");
        var replacement = page.Locator("#audit-list > li").First;
        await Expect(replacement).ToContainTextAsync("Replaced your device key");
        await Expect(replacement).ToContainTextAsync("By lakeside-admin (admin, Lakeside Clinic)");
        await Expect(replacement).ToHaveClassAsync("emergency");
        // This device's key signs nothing any more: the page says why, in the patient's words, instead of sending a change.
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke the consent for hospital riverside" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, revoke the consent for hospital riverside" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(
            "^Your device key was replaced by Lakeside Clinic \\(lakeside-admin\\) on .*This device can no longer sign for you, so nothing was changed\\."));
        // The tab that did not hear of it signs with the replaced key: the endorsers refuse, and the page says why and catches up.
        await unaware.GetByRole(AriaRole.Button, new() { Name = "Revoke the consent for hospital riverside" }).ClickAsync();
        await unaware.GetByRole(AriaRole.Button, new() { Name = "Yes, revoke the consent for hospital riverside" }).ClickAsync();
        await Expect(unaware.Locator("#message")).ToContainTextAsync("Your device key was replaced by your home hospital, so this device can no longer sign for you; nothing was changed.");
        await Expect(unaware.Locator("#device-status")).ToContainTextAsync($"This device's key {keyId} was replaced by Lakeside Clinic (lakeside-admin)");
        await Expect(page.Locator("#consent-lists")).ToContainTextAsync("Riverside University Hospital may read vaccinations");
        // What this device would hand to the hospital to be enrolled again: its key, proved by its own signature.
        await page.GetByRole(AriaRole.Button, new() { Name = "Enrol this device" }).ClickAsync();
        var request = await page.Locator("#device-request-text").InputValueAsync();
        Assert.Contains("\"proof\"", request);
        var handedOver = System.Text.Json.Nodes.JsonNode.Parse(request)!.AsObject();
        handedOver["reason"] = "Old phone found again.";
        var readmitted = await Host.As("lakeside admin").PostJsonAsync($"/patients/{fay}/device-key", handedOver);
        Assert.Equal(HttpStatusCode.Created, readmitted.StatusCode);
        await page.ReloadAsync();
        await Expect(page.Locator("#device-status")).ToContainTextAsync($"This device holds your key {keyId}");
    }

    [SkippableFact]
    public async Task On_a_phone_by_keyboard_alone_with_nothing_axe_objects_to()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        // Break glass on Bob first: the page must announce it, not only list it.
        var emergency = await Host.As("lakeside physician").PostJsonAsync($"/patients/{Bob}/emergency-access", new { reason = "Unconscious in the emergency department." });
        Assert.Equal(HttpStatusCode.OK, emergency.StatusCode);
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 375, Height = 740 }, DeviceScaleFactor = 2 });
        await page.GotoAsync(Host.Address.ToString());
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in as bob (patient)" })).ToBeVisibleAsync();

        // Tab to the demo patient and press Enter: no mouse needed.
        for (var i = 0; i < 12 && !(await page.EvaluateAsync<string>("() => document.activeElement?.tagName === 'BUTTON' ? document.activeElement.textContent : ''")).Contains("Sign in as bob"); i++)
            await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#who")).ToContainTextAsync("Signed in as bob");
        await Expect(page.Locator("#audit-list")).ToContainTextAsync("Registered you");
        await Expect(page.Locator("#emergency-notice")).ToContainTextAsync("Emergency access: lakeside-physician (physician, Lakeside Clinic)");
        await Expect(page.Locator("#audit-list > li.emergency")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).PressAsync("Enter");
        await Expect(page.Locator("#verify-result")).ToContainTextAsync("Verified in your browser", new() { Timeout = 15000 });

        // Nothing wider than the phone, and every control named for a screen reader.
        var wide = await page.EvaluateAsync<string>("""
            () => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                    .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 5).join('; ')
            """);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"The page scrolls sideways on a phone: {wide}");
        var axe = await page.RunAxe();
        Assert.True(axe.Violations.Length == 0,
            string.Join("\n", axe.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));

        // A network event this browser verified before that the network's history no longer holds as it was: not confirmed.
        var seen = await page.EvaluateAsync<long>("() => JSON.parse(localStorage.getItem('healthevents.network')).version");
        await page.EvaluateAsync("() => { const n = JSON.parse(localStorage.getItem('healthevents.network')); n.hash = '00'.repeat(32); localStorage.setItem('healthevents.network', JSON.stringify(n)); }");
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" }).PressAsync("Enter");
        await Expect(page.Locator("#verify-result")).ToContainTextAsync($"its version {seen} is not the one this browser verified", new() { Timeout = 15000 });
    }

    [SkippableFact]
    public async Task Pasted_tokens_that_will_not_do_are_explained()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        var token = page.GetByLabel("Your patient token (from your home hospital)");
        var signIn = page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true });

        await token.FillAsync("not a token");
        await signIn.ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("That is not a token");

        await token.FillAsync(Host.Token("northside physician"));
        await signIn.ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("not a patient's");

        // Expired: the server's 401 becomes a sentence, and the page goes back to sign-in without keeping the token.
        await token.FillAsync(Host.Mint("northside", "alice", HealthEvents.Domain.Common.Role.Patient, Guid.Parse(Alice),
            TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-2)));
        await signIn.ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("Your sign-in is not valid");
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('healthevents.token')"));
    }

    [SkippableFact]
    public async Task A_new_access_arrives_live_an_emergency_raises_an_alert_and_a_consent_is_narrowed()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        // A patient of this test's own: the demo patients' trails and consents are changed by the other page tests.
        var registered = await Host.As("lakeside physician").PostJsonAsync("/patients", new { homeHospital = "lakeside", birthYear = 1990, sex = "female", name = "Live Patient" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        await page.GotoAsync(Host.Address.ToString());
        await page.GetByLabel("Your patient token (from your home hospital)").FillAsync(Host.Mint("lakeside", "live-patient", HealthEvents.Domain.Common.Role.Patient, patient));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator("#audit-list")).ToContainTextAsync("Registered you");
        await Expect(page.Locator("#live-status")).ToHaveTextAsync("Live: new events appear here as they happen.");
        await page.EvaluateAsync("() => { window.notReloaded = true; }");

        // Riverside tries to read the patient's record: the refusal appears on top of her trail, no reload.
        var denied = await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/access", new { purpose = "treatment", categories = new[] { "vaccinations" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        var first = page.Locator("#audit-list > li").First;
        await Expect(first).ToContainTextAsync("Was refused access");
        await Expect(first).ToContainTextAsync("riverside-physician");
        await Expect(first).ToHaveClassAsync("denied");

        // Break glass: an alert a screen reader announces, and the row marked on top.
        var emergency = await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/emergency-access", new { reason = "Collapsed at the station." });
        Assert.Equal(HttpStatusCode.OK, emergency.StatusCode);
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Emergency access: riverside-physician (physician, Riverside University Hospital)" })).ToBeVisibleAsync();
        await Expect(page.Locator("#emergency-notice")).ToContainTextAsync("Collapsed at the station.");
        // Free text is isolated from the page's own words (a bidirectional override inside it cannot reorder them).
        await Expect(page.Locator("#emergency-notice bdi", new() { HasText = "Collapsed at the station." })).ToHaveCountAsync(1);
        await Expect(first.Locator("bdi", new() { HasText = "Collapsed at the station." })).ToHaveCountAsync(1);
        await Expect(first).ToHaveClassAsync("emergency");
        Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"));

        // Grant riverside conditions and vaccinations, then narrow it to vaccinations.
        await page.SelectOptionAsync("#g-grantee", "hospital:riverside");
        await page.GetByLabel("conditions", new() { Exact = true }).CheckAsync();
        await page.GetByLabel("vaccinations", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent granted.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Narrow the consent for hospital riverside" }).ClickAsync();
        var form = page.GetByRole(AriaRole.Form, new() { Name = "Narrow the consent for hospital riverside" });
        await Expect(form.GetByLabel("conditions")).ToBeCheckedAsync();

        // Unchanged, or an end already past: refused, each with its own words.
        await form.GetByRole(AriaRole.Button, new() { Name = "Narrow", Exact = true }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("That keeps everything the consent gives; untick what to take away, or choose an earlier end.");
        // Everything unticked is no narrowing: the page points to revoking instead, and sends nothing.
        await form.GetByLabel("conditions").UncheckAsync();
        await form.GetByLabel("vaccinations").UncheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Narrow", Exact = true }).ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("To take everything back, revoke the consent instead.");
        await form.GetByLabel("conditions").CheckAsync();
        await form.GetByLabel("vaccinations").CheckAsync();
        await form.GetByLabel("End earlier").FillAsync("2020-01-01");
        await form.GetByRole(AriaRole.Button, new() { Name = "Narrow", Exact = true }).ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("The new end must be in the future");

        await form.GetByLabel("End earlier").FillAsync("");
        await form.GetByLabel("conditions").UncheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Narrow", Exact = true }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Consent narrowed.");
        await Expect(page.Locator("#consent-lists")).ToContainTextAsync("Riverside University Hospital may read vaccinations for treatment");
        await Expect(page.Locator("#audit-list > li").First).ToContainTextAsync("Consent narrowed");
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } })).StatusCode);

        Assert.DoesNotContain(consoleErrors, e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Waits (the signer signs every 2 s by default) for a signed tree head larger than <paramref name="above"/>.</summary>
    private async Task<long> SignedTreeSizeAsync(long above)
    {
        var client = Host.As("alice (patient)");
        for (var i = 0; i < 100; i++)
        {
            var response = await client.GetAsync("/ledger/checkpoints/latest");
            if (response.IsSuccessStatusCode && (await response.JsonAsync()).GetProperty("treeSize").GetInt64() is var size && size > above) return size;
            await Task.Delay(200);
        }
        throw new TimeoutException($"No tree head above {above} was signed.");
    }

    [Fact]
    public async Task The_page_is_served_under_a_strict_policy_and_the_envelopes_are_the_patients_alone()
    {
        var home = await Host.Client().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var csp = string.Join("", home.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);

        var demo = await (await Host.Client().GetAsync("/demo/patients")).JsonAsync();
        Assert.All(demo.EnumerateArray(), p => Assert.EndsWith("(patient)", p.GetProperty("name").GetString()));

        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("bob (patient)").GetAsync($"/patients/{Alice}/envelopes")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Host.As("northside physician").GetAsync($"/patients/{Alice}/envelopes")).StatusCode);
        var view = await (await Host.As("alice (patient)").GetAsync($"/patients/{Alice}/envelopes")).JsonAsync();
        Assert.True(view.GetProperty("events").GetArrayLength() > 0);
        Assert.Equal(3, view.GetProperty("network").EnumerateArray().Count(e => e.GetProperty("type").GetString() == "network.hospital-joined.v1"));
    }
}
