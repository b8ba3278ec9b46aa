using System.Net;
using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The anchors' walk back over the <c>ledger</c> stream (docs/architecture.md, "Which head anchors"), attacked where it
/// decides which head counts: a head stamped in the future, a version missing from the ledger stream, and an anchor a node
/// keeps after the view that proved it was edited.
/// </summary>
public sealed partial class HiddenStreamStartOnPostgresTests
{
    /// <summary>
    /// The two colluders (who meet the policy between themselves) append one tree head of 2^40 leaves stamped a year ahead.
    /// A head the view has not taken in counts as "still being taken in" until two minutes after its own signed time, so
    /// this one is passed over silently for a year, and the honest signer can sign no head after it (tree sizes only grow).
    /// A patient registered just before (while the ledger view lagged) is then never covered by a signed head: her stream
    /// rewritten as Riverside's, endorsed again by the colluders, and her leaves deleted from the view, is taken by a node
    /// reading it afresh — Riverside's token speaks for her and a decision is taken on it (today: 200 and 200). The same
    /// head stamped an hour back makes the node refuse at once (its view cannot prove a head that old, so it even refuses
    /// new registrations, 503): the future stamp is what passes.
    /// </summary>
    [SkippableFact]
    public async Task A_stream_rewritten_behind_a_tree_head_stamped_in_the_future_is_refused()
    {
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(LedgerStream.StreamId)) is not null || await RegisteredFillerAsync(),
            () => "the ledger never signed a head");
        Guid patient;
        // The ledger view takes nothing in while this transaction holds its leaves (a busy ledger lags): no head covers her.
        await using (var hold = new Npgsql.NpgsqlConnection(Host.ConnectionString))
        {
            await hold.OpenAsync();
            await using var held = await hold.BeginTransactionAsync();
            await using (var lockLeaves = new Npgsql.NpgsqlCommand("LOCK TABLE readmodels.mt_doc_ledgerleaf IN SHARE ROW EXCLUSIVE MODE", hold, held))
                await lockLeaves.ExecuteNonQueryAsync();
            (patient, _) = await NewConsentingPatientAsync("Fern Forward", "lakeside");
            var colluders = new ColludingHospitals(Host, "riverside", "lakeside");
            var forged = new TreeHeadSigned(1L << 40, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), DateTimeOffset.UtcNow.AddYears(1));
            await AppendAtLedgerEndAsync(_ => colluders.AppendAsync(LedgerStream.StreamId, forged));
            await held.RollbackAsync();
        }
        await ReendorseAsRiversidesAsync(patient);
        Assert.True(await Host.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{PatientStream.StreamId(patient)}'") >= 2);

        await AssertRiversideCannotSpeakForAsync(patient);
        await using var cold = await ColdNodeAsync();
        Assert.Null(await DecidedOnAsync(cold, patient));
    }

    /// <summary>
    /// The store writer who holds the read models cuts one tree head out of the middle of the ledger stream — the one just
    /// below the last — and deletes from the view the leaf the last head ends at (an attacker's own filler event). The last
    /// head is then "not taken in yet" and recent, so it is passed over; the walk back then meets the missing version and
    /// stops as if it had reached the ledger stream's start (a network younger than two minutes): no anchor, no
    /// refusal, and a rewritten stream whose leaves were deleted is checked against the view alone, although the head
    /// before the cut proves her original events (today: Riverside reads her consents, 200).
    /// </summary>
    [SkippableFact]
    public Task A_rewritten_stream_is_refused_once_a_head_is_cut_from_the_middle_of_the_ledger_stream() =>
        AssertRewriteRefusedAsync("Gia Gap", async _ =>
        {
            // One more head after the one that covers her: the head below the last still proves her events.
            var (end, last) = await LastHeadSigningAllAsync(after: (await Events.ReadLastAsync(LedgerStream.StreamId))!.Version);
            Assert.Equal(1, await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = '{LedgerStream.StreamId}' AND version = {end - 1}"));
            Assert.Equal(1, await Host.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE (data->>'leafIndex')::bigint = {last.TreeSize - 1}"));
        });

    /// <summary>
    /// The edited-subtrees attack on a node that already holds its anchor: it proved the latest head (here, checking a
    /// patient's token), then the store writer edits the view's subtrees starting at leaf 0. The node keeps its anchor while
    /// the view still holds the anchor's last leaf, and the next stream it folds is "not proven" by the edited paths: an
    /// honest patient's stream is refused as damaged-stream (409), and her physician is told her history was tampered with
    /// (today: 409). A view that cannot prove is not evidence of a rewrite: a node freshly started answers 503 here
    /// (<see cref="Edited_subtrees_of_the_ledger_view_do_not_stop_nodes_deciding_on_honest_streams"/>), and so must this one, or release.
    /// </summary>
    [SkippableFact]
    public async Task Edited_subtrees_of_the_ledger_view_do_not_make_a_node_holding_its_anchor_call_honest_streams_damaged()
    {
        var (warm, _) = await NewConsentingPatientAsync("Wren Warm", "lakeside");
        var (patient, _) = await NewConsentingPatientAsync("Hope Honest", "lakeside");
        await SignedOverAsync(PatientStream.StreamId(patient));
        await LastHeadSigningAllAsync(); // quiet: no head is signed from here on unless an event is appended

        await using var cold = await ColdNodeAsync();
        // Her token checked on the cold node: it reads and proves the latest head (a read: nothing appended, no new head).
        using (var own = await cold.Client(cold.Mint("northside", "wren", Role.Patient, warm)).GetAsync($"/patients/{warm}/consents"))
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.True(await Host.ExecuteSqlAsync("UPDATE readmodels.mt_doc_ledgernode SET data = jsonb_set(data, '{hash}', " +
            "to_jsonb(encode(sha256(convert_to(data->>'hash', 'UTF8')), 'hex'))) WHERE (data->>'index')::bigint = 0") >= 1);

        var refused = await ReleasedAsync(cold, patient);
        Assert.True(refused is null, refused);
    }

    /// <summary>
    /// The ledger stream's last head (its version and tree) once it signs every leaf the view holds; with
    /// <paramref name="after"/>, once it is a head after that version (fillers registered until one is signed).
    /// </summary>
    private async Task<(long Version, TreeHeadSigned Head)> LastHeadSigningAllAsync(long? after = null)
    {
        var ledger = Host.Services.GetRequiredService<ILedgeredHistory>();
        (long, TreeHeadSigned)? last = null;
        await Patience.UntilAsync(async () => await Events.ReadLastAsync(LedgerStream.StreamId) is { } head && head.Version > (after ?? -1)
                && EventSerializer.Default.Deserialize(head.Type, head.Data) is TreeHeadSigned signed && signed.TreeSize == await ledger.SizeAsync()
                && (last = (head.Version, signed)) is not null
                || (after is not null && await RegisteredFillerAsync()),
            () => "no head signed every leaf the ledger view holds");
        return last!.Value;
    }
}
