using System.Net;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Riverside rotates its endorsement key (the old one was stolen). The thief and a colluding member, Northside, sign a
/// patient transaction with Riverside's retired key, stamp it just before the rotation, when that key was still valid,
/// and write it straight into the store. No honest endorser would have signed it (its time is far from their clocks), so
/// only the stored history shows it: the ledger's endorsed tree heads stored before it in the global log prove it was
/// stored after the rotation, and the whole-store verifier names it <c>backdated</c> at its version — and so does the
/// patient's own verification (GET /patients/{id}/verification), from the heads stored before its leaf. A real service:
/// real endorsers and ledger signer, real store. The tolerance is 2 × clock skew + 1 min in production; here it is
/// compressed to <see cref="Tolerance"/> (Endorsement:BackdateToleranceSeconds) so the heads overtake the forged time in
/// seconds (BackdatedStoreTests covers the real one).
/// </summary>
public abstract class BackdatedTransactionAttackSpec(TestStore store) : ServiceOnStore(store)
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(15);

    protected override string[] Settings => [$"--Endorsement:BackdateToleranceSeconds={Tolerance.TotalSeconds}"];

    [SkippableFact]
    public async Task A_transaction_signed_with_a_retired_key_and_stamped_before_its_rotation_is_named_backdated()
    {
        var (patient, bea, stream, forged) = await WriteBackdatedTransactionAsync();

        // One reading to the log's committed end (an event held back behind a tree head in flight is waited for): named at once.
        var broken = Assert.Single((await VerifyAsync()).BrokenStreams, s => s.StreamId == stream);
        Assert.Equal(forged, broken.FirstBrokenVersion);
        Assert.Contains(broken.Problems, p => p.Code == VerificationCodes.Backdated && p.Version == forged);

        await BackdatedNamedAsync(patient, bea);
        var verification = await (await bea.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean());
        Assert.Equal(forged, verification.GetProperty("firstBrokenVersion").GetInt64());
        Assert.Contains(verification.GetProperty("problems").EnumerateArray(), p => p.GetProperty("streamId").GetString() == stream
            && p.GetProperty("version").GetInt64() == forged && p.GetProperty("code").GetString() == VerificationCodes.Backdated);
    }

    /// <summary>The patient's own verification, once the ledger view has taken the forged leaf in, names it backdated.</summary>
    protected static async Task BackdatedNamedAsync(Guid patient, HttpClient bea)
    {
        var said = "";
        await Patience.UntilAsync(async () =>
        {
            var report = await (await bea.GetAsync($"/patients/{patient}/verification")).JsonAsync();
            said = report.ToString();
            return report.GetProperty("problems").EnumerateArray().Any(p => p.GetProperty("code").GetString() == VerificationCodes.Backdated);
        }, () => $"the patient's verification never named the backdated transaction: {said}");
    }

    /// <summary>
    /// Bea's stream, with a consent signed by Northside and Riverside's retired key, stamped just before the rotation and
    /// written straight into the store once a tree head stamped past the tolerance was stored; returns its version.
    /// </summary>
    protected async Task<(Guid Patient, HttpClient Bea, string Stream, long Forged)> WriteBackdatedTransactionAsync()
    {
        var (patient, bea) = await Host.NewPatientAsync("Bea Backdate");
        var stream = $"patient-{patient}";
        using var current = new HospitalKeyring(Path.Combine(Host.DataFolder, "keys")).Get("riverside", HospitalKeyUse.Endorsement);
        using var retired = ECDsa.Create(current.ExportParameters(includePrivateParameters: true));

        using var rotation = await Host.As("riverside admin").PostJsonAsync("/network/hospitals/riverside/keys", new { use = "endorsement" });
        Assert.Equal(HttpStatusCode.Created, rotation.StatusCode);
        var rotatedAt = (await rotation.JsonAsync()).GetProperty("effectiveFrom").GetDateTimeOffset();
        var stamped = rotatedAt.AddMilliseconds(-1);

        // Honest work goes on; the ledger signs heads over it. Once a head is stamped past the tolerance, the log dates what follows.
        var events = Host.Services.GetRequiredService<IEventStore>();
        var nudged = false;
        await Patience.UntilAsync(async () =>
        {
            if (await events.ReadLastAsync(LedgerStream.StreamId) is { } head && EventMetadata.FromBytes(head.Metadata).OccurredAt > stamped + Tolerance)
                return true;
            if (nudged || DateTimeOffset.UtcNow <= stamped + Tolerance) return false;
            nudged = true; // one honest entry past the tolerance: the next head is stamped after it
            Assert.Equal(HttpStatusCode.Created, (await Host.As("northside physician").PostJsonAsync($"/patients/{patient}/entries", new
            {
                category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Blood pressure follow-up.",
            })).StatusCode);
            return false;
        }, () => "no tree head was signed past the tolerance after the rotation");

        var forged = await new ColludingHospitals(Host, "northside", "riverside")
        {
            OccurredAt = stamped,
            Keys = new Dictionary<string, ECDsa> { ["riverside"] = retired },
        }.AppendAsync(stream, new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth],
            [Purpose.Treatment], [AccessAction.Read], stamped, null));
        return (patient, bea, stream, forged);
    }

    private async Task<StoreVerificationReport> VerifyAsync()
    {
        var events = Host.Services.GetRequiredService<IEventStore>();
        var serializer = Host.Services.GetRequiredService<EventSerializer>();
        var genesis = Host.Services.GetRequiredService<NetworkGenesisPin>();
        var checker = await EndorsementChecker.LoadAsync(events, serializer, genesis);
        checker.BackdateTolerance = Host.Services.GetRequiredService<EndorsementOptions>().BackdateTolerance; // as the verify verb sets it
        return await StoreVerifier.VerifyAsync(events, new StoreVerifierOptions { EndorsementChecker = checker, Genesis = genesis });
    }
}

public sealed class BackdatedTransactionAttackTests() : BackdatedTransactionAttackSpec(TestStore.PostgreSql)
{
    /// <summary>
    /// The backdated transaction above, and then the same store writer edits the ledger view (the read models' PostgreSQL
    /// schema): the tree heads' places (<c>leafIndex</c>) moved past every leaf, or the heads removed from the view. The
    /// heads themselves stay intact in the ledger stream, and the global log still orders them before the forged
    /// transaction; only the index the per-stream verifier reads says otherwise. The patient's verification must not
    /// then hold her stream for verified (today: the forged consent verifies, as signed by a key valid at its own time).
    /// </summary>
    [SkippableTheory]
    [InlineData("UPDATE readmodels.mt_doc_ledgertreehead SET data = jsonb_set(data, '{leafIndex}', to_jsonb((data->>'leafIndex')::bigint + 1000000000)) WHERE data->>'leafIndex' IS NOT NULL")]
    [InlineData("DELETE FROM readmodels.mt_doc_ledgertreehead")]
    public async Task A_backdated_transaction_is_not_verified_once_the_ledger_view_misplaces_the_heads(string forgeView)
    {
        var (patient, bea, _, forged) = await WriteBackdatedTransactionAsync();
        await BackdatedNamedAsync(patient, bea);

        await Host.ExecuteSqlAsync(forgeView);

        var verification = await (await bea.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(), $"her verification holds the backdated transaction at version {forged} for intact: {verification}");
    }
}

public sealed class BackdatedTransactionAttackOnEventStoreDbTests() : BackdatedTransactionAttackSpec(TestStore.EventStoreDb);
