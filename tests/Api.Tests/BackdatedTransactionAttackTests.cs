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
    protected static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(15);

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

    /// <summary>
    /// The backdated transaction above, and then the store writer who holds the node's read models edits the ledger view's leaves:
    /// the forged transaction's leaf removed from the view (the read models' PostgreSQL schema). The heads all stay where
    /// they are; the per-stream verifier dates only the versions the view lists as leaves, so the forged one is dated by no
    /// head and is judged at its own stamped time, when the retired key was valid; the stream's latest remaining leaf is
    /// still proven by the signed head. The event is in the global log after the heads either way: her verification must
    /// not then hold the backdated transaction for intact (today: verified).
    /// </summary>
    [SkippableFact]
    public Task A_backdated_transaction_is_not_verified_once_its_leaf_is_removed_from_the_ledger_view() =>
        NotVerifiedOnceTamperedAsync((stream, forged) =>
            $"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{stream}' AND (data->>'streamVersion')::bigint >= {forged}");

    /// <summary>
    /// Writes the backdated transaction, waits until her verification names it and the ledger view holds its leaf, runs <paramref name="tamper"/>'s SQL (given
    /// the stream and the forged version; it must change exactly one row), and asserts her verification does not then
    /// hold the stream for verified.
    /// </summary>
    protected async Task NotVerifiedOnceTamperedAsync(Func<string, long, string> tamper)
    {
        var (patient, bea, stream, forged) = await WriteBackdatedTransactionAsync();
        await BackdatedNamedAsync(patient, bea);
        // Named by the log's order alone, it may be named before the ledger view took its leaf in: the tampering below edits that leaf's witness.
        await Patience.UntilAsync(async () => await Host.Services.GetRequiredService<ILedgeredHistory>().LeafAtAsync(stream, forged) is not null,
            () => "the ledger view never took the backdated transaction in");

        Assert.Equal(1, await Host.ExecuteSqlAsync(tamper(stream, forged)));

        var verification = await (await bea.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(), $"her verification holds the backdated transaction at version {forged} for intact: {verification}");
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

    /// <summary>
    /// An honest patient whose one transaction, her registration, was stored before a tree head stamped past the tolerance
    /// after it. The writer of the read models moves that later head's place in the ledger view (<c>leafIndex</c>) back to
    /// her registration's leaf. The head itself is intact in the ledger stream, and the store's order puts it after her
    /// event; the view alone says it came before. Since the later of the two witnesses dates the event, her honest
    /// registration is dated by a head stamped after it and named <c>backdated</c> (today: not verified): a read-model
    /// edit must not make an honest patient's own verification raise the alarm the store's order contradicts.
    /// </summary>
    [SkippableFact]
    public async Task An_honest_registration_is_not_named_backdated_once_the_view_places_a_later_head_before_it()
    {
        var (patient, hope) = await Host.NewPatientAsync("Hope Honest");
        var stream = $"patient-{patient}";
        var events = Host.Services.GetRequiredService<IEventStore>();
        var registeredAt = EventMetadata.FromBytes((await events.ReadFirstAsync(stream))!.Metadata).OccurredAt;
        var (other, _) = await Host.NewPatientAsync("Otto Other");
        var nudged = false;
        await Patience.UntilAsync(async () =>
        {
            if (await events.ReadLastAsync(LedgerStream.StreamId) is { } head && EventMetadata.FromBytes(head.Metadata).OccurredAt > registeredAt + Tolerance)
                return true;
            if (nudged || DateTimeOffset.UtcNow <= registeredAt + Tolerance) return false;
            nudged = true; // honest work on another patient past the tolerance: the next head is stamped after it
            Assert.Equal(HttpStatusCode.Created, (await Host.As("northside physician").PostJsonAsync($"/patients/{other}/entries", new
            {
                category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Blood pressure follow-up.",
            })).StatusCode);
            return false;
        }, () => "no tree head was signed past the tolerance after her registration");
        var late = (await events.ReadLastAsync(LedgerStream.StreamId))!;
        // The view has placed the late head (a no-op write finds its row), and has taken her registration in.
        await Patience.UntilAsync(async () => await Host.ExecuteSqlAsync(
                $"UPDATE readmodels.mt_doc_ledgertreehead SET data = data WHERE id = '{late.EventId}' AND data->>'leafIndex' IS NOT NULL") == 1
            && await Host.ExecuteSqlAsync(
                $"UPDATE readmodels.mt_doc_ledgerleaf SET data = data WHERE data->>'streamId' = '{stream}' AND (data->>'streamVersion')::bigint = 0") == 1,
            () => "the ledger view never placed the late head or took her registration in");
        var before = await (await hope.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.True(before.GetProperty("verified").GetBoolean(), $"her honest stream does not verify before any edit: {before}");

        Assert.Equal(1, await Host.ExecuteSqlAsync(
            $"UPDATE readmodels.mt_doc_ledgertreehead SET data = jsonb_set(data, '{{leafIndex}}', (SELECT data->'leafIndex' FROM readmodels.mt_doc_ledgerleaf " +
            $"WHERE data->>'streamId' = '{stream}' AND (data->>'streamVersion')::bigint = 0)) WHERE id = '{late.EventId}'"));

        var verification = await (await hope.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean(), $"her honest registration is no longer verified: {verification}");
    }

    /// <summary>
    /// The backdated transaction above, and then the store writer rewrites where the global log places it: on PostgreSQL the
    /// log's order is (transaction_id, position), plain columns of <c>he_events</c>, so the forged row's transaction id is set
    /// to the network founding's — before every tree head. The per-stream verifier takes the store's order as the truth
    /// (the view's hinted head is refused as not stored before the event, and the search over the ledger stream finds no head
    /// before it), so the forged consent is dated by nothing. Whatever order the log now claims, the ledger took this leaf in
    /// after its heads (the view and the signed roots say so); her verification must not hold it for intact (today: verified).
    /// </summary>
    [SkippableFact]
    public Task A_backdated_transaction_is_not_verified_once_its_place_in_the_log_is_rewritten_before_the_heads() =>
        NotVerifiedOnceTamperedAsync((stream, forged) =>
            $"UPDATE he_events SET transaction_id = (SELECT min(transaction_id) FROM he_events) WHERE stream_id = '{stream}' AND version >= {forged}");
}

public sealed class BackdatedTransactionAttackOnEventStoreDbTests() : BackdatedTransactionAttackSpec(TestStore.EventStoreDb);
