using System.Text;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The network's founding is endorsed by nobody: rewritten in PostgreSQL with a self-consistent chain (every hash,
/// link and signature recomputed), the network's history holds by every other check. The service that founded the
/// network pinned its hash in its data folder; its verifier, `./run.sh verify` and a restart on that store refuse
/// the rewrite, and the patient's page, which remembers the founding from the first visit, says so.
/// </summary>
public sealed class GenesisPinServiceTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost Host => fixture.Host;

    /// <summary>The founding's first event admits Northside; the forger renames it. Nothing else changes.</summary>
    private Task<IAsyncDisposable> ForgeFoundingAsync() =>
        new ColludingHospitals(Host, "northside", "riverside").RewriteNetworkFoundingAsync(data =>
        {
            var json = Encoding.UTF8.GetString(data);
            Assert.Contains("Northside General Hospital", json);
            return Encoding.UTF8.GetBytes(json.Replace("Northside General Hospital", "Northside General Hospita1"));
        });

    /// <summary>The founding as a node pins it: its events (the unendorsed ones the stream starts with) and the last one's hash.</summary>
    private async Task<string> FoundingPinAsync()
    {
        var founding = await Host.Services.GetRequiredService<IEventStore>().ReadStreamAsync(NetworkStream.StreamId)
            .TakeWhile(e => e.Endorsement is null).ToListAsync();
        return $"{founding.Count}:{Convert.ToHexStringLower(founding[^1].Hash)}";
    }

    [Fact]
    public async Task A_founding_rewritten_with_a_self_consistent_chain_is_refused_by_the_server_the_command_line_and_a_restart()
    {
        // The founder pinned what it founded, beside its genesis file and keys: the founding's length and last hash.
        var pinned = (await File.ReadAllTextAsync(Path.Combine(Host.DataFolder, "genesis.hash"))).Trim();
        Assert.Equal(await FoundingPinAsync(), pinned);
        var alice = Host.As("alice (patient)");
        Assert.True((await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync()).GetProperty("verified").GetBoolean());
        await SignedHeadAsync(alice);

        await using (await ForgeFoundingAsync())
        {
            Assert.NotEqual(pinned, await FoundingPinAsync());

            // Only the pin tells: the network's chain and signatures hold, alice's trail holds under the same keys.
            var report = await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync();
            Assert.False(report.GetProperty("verified").GetBoolean());
            var problem = Assert.Single(report.GetProperty("problems").EnumerateArray());
            Assert.Equal(("network", 0L, "genesis-mismatch"),
                (problem.GetProperty("streamId").GetString(), problem.GetProperty("version").GetInt64(), problem.GetProperty("code").GetString()));
            Assert.Contains(pinned, problem.GetProperty("message").GetString());

            var verify = await Host.RunVerbAsync("verify");
            Assert.True(verify.ExitCode == 1, $"exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
            Assert.Contains("network v0: genesis-mismatch:", verify.Stdout);
            Assert.Contains("ledger NOT verified: the signed head", verify.Stdout);
            Assert.Contains($"genesis: the network's founding is checked against the pin {pinned}", verify.Stdout);

            // A node started on this store and data folder reads the network before anything else, and stops there.
            var restart = await Assert.ThrowsAsync<GenesisMismatchException>(() => ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, Host.DataFolder)));
            Assert.Contains(pinned, restart.Message);
        }

        Assert.True((await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync()).GetProperty("verified").GetBoolean());
        var again = await Host.RunVerbAsync("verify");
        Assert.True(again.ExitCode == 0, again.Stdout);
    }

    /// <summary>Waits for the ledger's first signed tree head (the signer signs within seconds of new events).</summary>
    private static async Task SignedHeadAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow + HealthEvents.TestSupport.Patience.Deadline;
        while (!(await client.GetAsync("/ledger/checkpoints/latest")).IsSuccessStatusCode)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("No tree head was signed.");
            await Task.Delay(200);
        }
    }

    [SkippableFact]
    public async Task The_page_remembers_the_founding_from_the_first_visit_and_names_a_rewritten_one()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in as alice (patient)" }).ClickAsync();
        await Expect(page.Locator("#audit-list")).ToContainTextAsync("Consent granted"); // the trail first, then the other parts
        var verify = page.GetByRole(AriaRole.Button, new() { Name = "Verify my trail" });
        var result = page.Locator("#verify-result");

        await verify.ClickAsync();
        await Expect(result).ToContainTextAsync("Verified in your browser", new() { Timeout = 15000 });
        // The page remembers the founding as the node pins it: its length and last hash.
        Assert.Equal(await FoundingPinAsync(), await page.EvaluateAsync<string>("() => localStorage.getItem('healthevents.genesis')"));

        await using (await ForgeFoundingAsync())
        {
            await verify.ClickAsync();
            await Expect(result).ToContainTextAsync("The network's founding is not the one this browser saw on your first visit", new() { Timeout = 15000 });
            await Expect(result).ToContainTextAsync("Network: Version 0 of the network has hash");
        }

        await verify.ClickAsync();
        await Expect(result).ToContainTextAsync("Verified in your browser", new() { Timeout = 15000 });
    }
}
