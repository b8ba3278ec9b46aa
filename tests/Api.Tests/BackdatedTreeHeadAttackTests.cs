using System.Net;
using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Patients;
using HealthEvents.Application.Patients;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Riverside rotates its endorsement key (the old one was stolen). The thief and one colluding member, Northside, do not
/// meet the policy now; they met it only while the stolen key was valid. They sign a tree head with it, stamp it just
/// before the rotation and write it at the ledger stream's end, after honest heads stamped well past that time — the
/// backdating the endorsement checker names when the log's order is given to it (<see cref="BackdatedTransactionAttackSpec"/>).
/// The ledger stream's state is its latest endorsed head (<see cref="EndorsedTreeHeads"/>): a head that verifies only by
/// its own stamped time must not become the state the honest signer and endorsers grow from. As in
/// <see cref="BackdatedTransactionAttackSpec"/>, the tolerance is compressed so honest heads overtake the forged time in seconds.
/// </summary>
public abstract class BackdatedTreeHeadAttackSpec(TestStore store) : ServiceOnStore(store)
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(15);

    protected override string[] Settings => [$"--Endorsement:BackdateToleranceSeconds={Tolerance.TotalSeconds}"];

    /// <summary>
    /// The forged head counts 2^40 leaves: were it the state, no honest head could ever grow past it, and every node's
    /// search for an anchor would stop at a head the view cannot prove. Tree heads must be signed again after it while
    /// commands go on being accepted (today: the signer takes it for the last head, as the retired key verifies at its stamp).
    /// </summary>
    [SkippableFact]
    public async Task Tree_heads_are_signed_again_after_a_head_signed_with_a_retired_key_and_stamped_before_its_rotation()
    {
        var (retired, stamped) = await RiversideRotatedAsync();
        using var _ = retired;
        var events = Host.Services.GetRequiredService<IEventStore>();

        var forged = new TreeHeadSigned(1L << 40, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), stamped);
        var thieves = new ColludingHospitals(Host, "northside", "riverside")
        {
            OccurredAt = stamped,
            Keys = new Dictionary<string, ECDsa> { ["riverside"] = retired },
        };
        var at = await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, forged));

        await Patience.UntilAsync(async () => (await events.ReadLastAsync(LedgerStream.StreamId))!.Version > at || await RegisteredFillerAsync(),
            () => $"no tree head was signed after the head stamped {stamped:O} with Riverside's retired key at version {at}, while commands were accepted");
    }

    /// <summary>
    /// The same thieves forge a patient's consent with the retired key, stamped before the rotation (the backdated
    /// transaction <see cref="BackdatedTransactionAttackSpec"/> shows named), but first append a tree head they endorse and
    /// stamp at that same time, over the true tree of the latest honest head (so nothing about its tree is wrong). Her own
    /// verification dates each event by the latest head stored before it (<c>StoredAfterQuery</c>), and that head now is the
    /// forged one, whose early stamp dates the consent as honest; the whole-log verifier takes the latest time of the
    /// endorsed heads met so far and names the consent backdated. Her verification must not hold the forged consent for
    /// intact (today: it does). The same with a head the store writer appends alone, unendorsed, holds: that consent is named.
    /// </summary>
    [SkippableFact]
    public async Task A_backdated_consent_behind_a_backdated_tree_head_is_not_verified()
    {
        var (patient, bea) = await Host.NewPatientAsync("Bea Backdate");
        var (retired, stamped) = await RiversideRotatedAsync();
        using var _ = retired;
        var thieves = new ColludingHospitals(Host, "northside", "riverside")
        {
            OccurredAt = stamped,
            Keys = new Dictionary<string, ECDsa> { ["riverside"] = retired },
        };
        // A quiet ledger first: the last head signs every leaf the view holds, so no honest head comes between the two forgeries.
        var view = Host.Services.GetRequiredService<HealthEvents.Projections.Ledger.LedgerQuery>();
        var events = Host.Services.GetRequiredService<IEventStore>();
        HealthEvents.Projections.Ledger.LedgerCheckpointView? honest = null;
        await Patience.UntilAsync(async () => (honest = await view.LatestAsync()) is { } latest && latest.TreeSize == await view.SizeAsync()
            && (await events.ReadLastAsync(LedgerStream.StreamId))?.EventId == latest.EventId, () => "the ledger never signed every leaf it holds");
        var head = new TreeHeadSigned(honest!.TreeSize, honest.RootHash, stamped);
        await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, head));
        var forged = await thieves.AppendAsync(PatientStream.StreamId(patient), new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"),
            [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], stamped, null));

        // Her verification once the ledger view has taken the forged consent in (both of the dating witnesses then speak).
        await Patience.UntilAsync(async () => await Host.Services.GetRequiredService<ILedgeredHistory>().LeafAtAsync(PatientStream.StreamId(patient), forged) is not null,
            () => "the ledger view never took the forged consent in");
        var verification = await (await bea.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(),
            $"her verification holds the consent signed with the retired key and stamped {stamped:O} (version {forged}) for intact: {verification}");

        // And in her own browser, which dates her events from the heads /envelopes names (verify.js), checking each itself.
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var __ = playwright;
        await using var ___ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        var inBrowser = await page.EvaluateAsync<string>(BrowserVerifierParityTests.Verify + """
            ; const f = r.firstBrokenVersion;
              return f === null ? 'intact' : `${f} ${r.problems.filter((p) => p.version === f).map((p) => p.code).join(' ')}`; }
            """, new object[] { patient.ToString(), bea.DefaultRequestHeaders.Authorization!.Parameter!, BrowserVerifierParityTests.Pinned(Host) });
        Assert.True(inBrowser.StartsWith($"{forged} ", StringComparison.Ordinal) && inBrowser.Contains("backdated"),
            $"her browser holds the consent stamped {stamped:O} (version {forged}) for: {inBrowser}");
    }

    /// <summary>
    /// Riverside rotates its endorsement key; returns the retired key (as the thief holds it) and a time just before the
    /// rotation, once the ledger stream's last head is stamped past the tolerance after that time (honest work registered meanwhile).
    /// </summary>
    private async Task<(ECDsa Retired, DateTimeOffset Stamped)> RiversideRotatedAsync()
    {
        using var current = new HospitalKeyring(Path.Combine(Host.DataFolder, "keys")).Get("riverside", HospitalKeyUse.Endorsement);
        var retired = ECDsa.Create(current.ExportParameters(includePrivateParameters: true));
        using var rotation = await Host.As("riverside admin").PostJsonAsync("/network/hospitals/riverside/keys", new { use = "endorsement" });
        Assert.Equal(HttpStatusCode.Created, rotation.StatusCode);
        var stamped = (await rotation.JsonAsync()).GetProperty("effectiveFrom").GetDateTimeOffset().AddMilliseconds(-1);
        var events = Host.Services.GetRequiredService<IEventStore>();
        await Patience.UntilAsync(async () =>
            await events.ReadLastAsync(LedgerStream.StreamId) is { } head && EventMetadata.FromBytes(head.Metadata).OccurredAt > stamped + Tolerance
            || await RegisteredFillerAsync(),
            () => "no tree head was signed past the tolerance after the rotation");
        return (retired, stamped);
    }

    /// <summary>Runs <paramref name="append"/> until it lands at the ledger stream's end (the honest signer may get there first); its version.</summary>
    private static async Task<long> AppendAtEndAsync(Func<Task<long>> append)
    {
        long at = 0;
        await Patience.UntilAsync(async () =>
        {
            try
            {
                at = await append();
                return true;
            }
            catch (WrongExpectedVersionException)
            {
                return false;
            }
        }, () => "the forged head never found the ledger stream's end");
        return at;
    }

    /// <summary>Registers one more patient (a head signs only over new leaves); false, so a wait looks again.</summary>
    private async Task<bool> RegisteredFillerAsync()
    {
        await Host.NewPatientAsync("Filler Patient");
        return false;
    }
}

public sealed class BackdatedTreeHeadAttackTests() : BackdatedTreeHeadAttackSpec(TestStore.PostgreSql);

public sealed class BackdatedTreeHeadAttackOnEventStoreDbTests() : BackdatedTreeHeadAttackSpec(TestStore.EventStoreDb);
