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
        var thieves = Thieves(retired, stamped);
        var at = await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, forged));

        await Patience.UntilAsync(async () => (await events.ReadLastAsync(LedgerStream.StreamId))!.Version > at || await RegisteredFillerAsync(),
            () => $"no tree head was signed after the head stamped {stamped:O} with Riverside's retired key at version {at}, while commands were accepted");
    }

    /// <summary>
    /// The same forged head, but Northside, who writes the store, first appends one transaction of 257 ledger events it alone
    /// endorses (they meet no policy and never verify). A node that finds more than <c>LedgerAnchors.MaxStepsBack</c> (256)
    /// events appended since it last looked reads the stream's last 256 afresh (<see cref="EndorsedTreeHeads"/>), and there no
    /// accepted head comes before the forged one to date it by: stamped before the rotation, it is accepted as the state,
    /// and no honest head can grow past its 2^40 leaves. Tree heads must still be signed again after it (today: they stop).
    /// </summary>
    [SkippableFact]
    public async Task Tree_heads_are_signed_again_after_a_backdated_head_behind_more_unendorsed_ledger_events_than_a_node_reads_back()
    {
        var (retired, stamped) = await RiversideRotatedAsync();
        using var _ = retired;
        var events = Host.Services.GetRequiredService<IEventStore>();

        var forged = new TreeHeadSigned(1L << 40, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), stamped);
        var thieves = Thieves(retired, stamped);
        var alone = new ColludingHospitals(Host, "northside") { OccurredAt = stamped };
        var pushers = Enumerable.Repeat<IEvent>(forged, LedgerAnchors.MaxStepsBack + 1).ToArray();
        await AppendAtEndAsync(() => alone.AppendAsync(LedgerStream.StreamId, pushers));
        var at = await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, forged));

        // Honest work goes on meanwhile; a registration refused is part of what the failure says.
        var refused = "";
        await Patience.UntilAsync(async () =>
        {
            if ((await events.ReadLastAsync(LedgerStream.StreamId))!.Version > at) return true;
            using var registered = await Host.As("northside physician").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "female", name = "Filler Patient" });
            if (registered.StatusCode != HttpStatusCode.Created) refused = $"{(int)registered.StatusCode} {await registered.Content.ReadAsStringAsync()}";
            return false;
        }, () => $"no tree head was signed after the head stamped {stamped:O} with Riverside's retired key at version {at}, behind {pushers.Length} unendorsed ledger events; last registration refused: {refused}");
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
        var thieves = Thieves(retired, stamped);
        var head = await QuietLedgerHeadAsync(stamped);
        await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, head));
        await ForgedConsentIsNamedAsync(patient, bea, thieves, stamped, "behind one backdated head");
    }

    /// <summary>
    /// The same thieves, with a single backdated head: the dating window (<c>StoredAfterQuery.BackdateWindow</c>) counts the
    /// ledger stream's last 8 <em>versions</em> before the head stored before an event, not 8 heads, and a version that does
    /// not verify dates nothing. So Northside, who writes the store, first appends 8 heads it alone endorses (they meet no
    /// policy and never verify), then the one head the thieves endorse with the retired key stamped before the rotation,
    /// then the consent: every honest head is pushed out of the consent's window by events that date nothing, and the forged
    /// head is the only time left. Her verification and her browser must still name the consent backdated (today: intact),
    /// as <c>verify</c> does; the known limit is nine forged heads in a row, not one.
    /// </summary>
    [SkippableFact]
    public async Task A_backdated_consent_behind_one_backdated_head_and_eight_unendorsed_ledger_events_is_not_verified()
    {
        var (patient, bea) = await Host.NewPatientAsync("Bea Pushed");
        var (retired, stamped) = await RiversideRotatedAsync();
        using var _ = retired;
        var thieves = Thieves(retired, stamped);
        var alone = new ColludingHospitals(Host, "northside") { OccurredAt = stamped };
        var head = await QuietLedgerHeadAsync(stamped);
        // Eight ledger events that verify under no policy, then the one backdated head, with no honest head between (the ledger is quiet).
        long first = -1, last = -1;
        await Patience.UntilAsync(async () =>
        {
            first = await AppendAtEndAsync(() => alone.AppendAsync(LedgerStream.StreamId, head));
            for (var i = 1; i < StoredAfterWindow; i++) await AppendAtEndAsync(() => alone.AppendAsync(LedgerStream.StreamId, head));
            last = await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, head));
            return last - first == StoredAfterWindow;
        }, () => "an honest head kept coming between the thieves' ledger events");
        await ForgedConsentIsNamedAsync(patient, bea, thieves, stamped, $"behind one backdated head at ledger version {last} and eight unendorsed events");
    }

    /// <summary>
    /// The thieves stamp their head at the earliest time there is (<see cref="DateTimeOffset.MinValue"/>; Riverside's retired key
    /// is a founding key, valid from then on) behind eight ledger events Northside alone endorses, and an honest patient
    /// registers right after it: her registration's dating window holds no other head that verifies, so it is dated by that
    /// stamp, and the backdate check subtracts the tolerance from it. Her verification must answer (a head stamped at any
    /// time is "never a 500", docs/architecture.md), naming nothing of hers; and registering her must work (today: 500).
    /// </summary>
    [SkippableFact]
    public async Task A_patient_registered_behind_a_head_stamped_at_the_earliest_time_gets_her_verification()
    {
        var (retired, _) = await RiversideRotatedAsync();
        using var __ = retired;
        var earliest = DateTimeOffset.MinValue;
        var thieves = Thieves(retired, earliest);
        var alone = new ColludingHospitals(Host, "northside") { OccurredAt = earliest };
        var head = await QuietLedgerHeadAsync(earliest);
        for (var i = 0; i < StoredAfterWindow; i++) await AppendAtEndAsync(() => alone.AppendAsync(LedgerStream.StreamId, head));
        await AppendAtEndAsync(() => thieves.AppendAsync(LedgerStream.StreamId, head));
        using (var registering = await Host.As("northside physician").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "female", name = "Dana Earliest" }))
            Assert.True(registering.StatusCode == HttpStatusCode.Created,
                $"registering a patient behind the head stamped {earliest:O} answered {(int)registering.StatusCode}: {await registering.Content.ReadAsStringAsync()}\n"
                + string.Join("\n", Host.Logs.Lines.Where(l => l.StartsWith("Error")).Take(1)));
        var (patient, dana) = await Host.NewPatientAsync("Dana Earliest");

        await Patience.UntilAsync(async () => await Host.Services.GetRequiredService<ILedgeredHistory>().LeafAtAsync(PatientStream.StreamId(patient), 0) is not null,
            () => "the ledger view never took her registration in");
        using var verification = await dana.GetAsync($"/patients/{patient}/verification");
        Assert.True(verification.StatusCode == HttpStatusCode.OK,
            $"her verification answered {(int)verification.StatusCode}: {await verification.Content.ReadAsStringAsync()}");
    }

    /// <summary>How many ledger versions before the head stored before an event date it too (StoredAfterQuery.BackdateWindow).</summary>
    private const int StoredAfterWindow = HealthEvents.Projections.Ledger.StoredAfterQuery.BackdateWindow;

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

    /// <summary>
    /// The thieves append a mental-health consent to Lakeside in her stream, stamped <paramref name="stamped"/>; once the ledger
    /// view has taken it in (both dating witnesses then speak), her verification and her own browser, which dates her events
    /// from the heads /envelopes names (verify.js, checking each itself), must both name it backdated.
    /// </summary>
    private async Task ForgedConsentIsNamedAsync(Guid patient, HttpClient her, ColludingHospitals thieves, DateTimeOffset stamped, string behind)
    {
        var forged = await thieves.AppendAsync(PatientStream.StreamId(patient), new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"),
            [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], stamped, null));
        await Patience.UntilAsync(async () => await Host.Services.GetRequiredService<ILedgeredHistory>().LeafAtAsync(PatientStream.StreamId(patient), forged) is not null,
            () => "the ledger view never took the forged consent in");
        var verification = await (await her.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(),
            $"her verification holds the consent signed with the retired key and stamped {stamped:O} (version {forged}), {behind}, for intact: {verification}");
        var inBrowser = await BrowserVerdictAsync(patient, her);
        Assert.True(inBrowser.StartsWith($"{forged} ", StringComparison.Ordinal) && inBrowser.Contains("backdated"),
            $"her browser holds the consent stamped {stamped:O} (version {forged}), {behind}, for: {inBrowser}");
    }

    /// <summary>Northside and the thief holding Riverside's <paramref name="retired"/> key, stamping <paramref name="stamped"/>.</summary>
    private ColludingHospitals Thieves(ECDsa retired, DateTimeOffset stamped) => new(Host, "northside", "riverside")
    {
        OccurredAt = stamped,
        Keys = new Dictionary<string, ECDsa> { ["riverside"] = retired },
    };

    /// <summary>
    /// Once the ledger is quiet (its last head signs every leaf the view holds, so no honest head comes between the forgeries
    /// that follow), that head's true tree stamped <paramref name="stamped"/>.
    /// </summary>
    private async Task<TreeHeadSigned> QuietLedgerHeadAsync(DateTimeOffset stamped)
    {
        var view = Host.Services.GetRequiredService<HealthEvents.Projections.Ledger.LedgerQuery>();
        var events = Host.Services.GetRequiredService<IEventStore>();
        HealthEvents.Projections.Ledger.LedgerCheckpointView? honest = null;
        await Patience.UntilAsync(async () => (honest = await view.LatestAsync()) is { } latest && latest.TreeSize == await view.SizeAsync()
            && (await events.ReadLastAsync(LedgerStream.StreamId))?.EventId == latest.EventId, () => "the ledger never signed every leaf it holds");
        return new TreeHeadSigned(honest!.TreeSize, honest.RootHash, stamped);
    }

    /// <summary>
    /// Her own browser's verdict on her trail (verify.js, the node's key pinned): 'intact', or the first broken version and
    /// its problem codes. Skips where no browser is installed.
    /// </summary>
    private async Task<string> BrowserVerdictAsync(Guid patient, HttpClient her)
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Host.Address.ToString());
        return await page.EvaluateAsync<string>(BrowserVerifierParityTests.Verify + """
            ; const f = r.firstBrokenVersion;
              return f === null ? 'intact' : `${f} ${r.problems.filter((p) => p.version === f).map((p) => p.code).join(' ')}`; }
            """, new object[] { patient.ToString(), her.DefaultRequestHeaders.Authorization!.Parameter!, BrowserVerifierParityTests.Pinned(Host) });
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
