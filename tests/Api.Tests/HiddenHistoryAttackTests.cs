using System.Net;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to EventStoreDB hides the beginning of a patient's stream with the server's own tools —
/// stream metadata (<c>$tb</c>, <c>$maxCount</c>) or a soft delete — rather than by appending. Every verifier then reports
/// the stream cut at version 0; what must also hold is that no node decides anything on what is left of it: not on a
/// warm node's cached state, and not on a cold node's reading that lacks the registration (the takeover that allows:
/// <see cref="HiddenStreamStartSpec"/>).
/// </summary>
public sealed class HiddenHistoryAttackTests() : HiddenStreamStartSpec(TestStore.EventStoreDb)
{
    /// <summary>
    /// Stream metadata hides a patient stream's beginning (<c>$tb</c>, or <c>$maxCount</c> keeping only the last event):
    /// every verifier reports the stream cut at version 0, yet the node that served the patient before keeps deciding on
    /// its cached state and its endorsers endorse, so the service goes on appending to a history nobody can verify
    /// (today: 200 and a new event) — while a node that reads the stream afresh finds no registration and answers 404
    /// patient-not-found, so the same request gets two answers. As the network directory does for the network stream,
    /// a command on such a stream must be refused as a damaged stream, and nothing appended.
    /// </summary>
    [SkippableTheory]
    [InlineData("{\"$tb\":1}")]
    [InlineData("{\"$maxCount\":1}")]
    public async Task A_patient_stream_whose_beginning_is_hidden_takes_no_more_commands(string metadata)
    {
        var (patient, _) = await NewConsentingPatientAsync("Hilda Hidden", "riverside");
        var stream = PatientStream.StreamId(patient);
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.SetMetadataAsync(stream, metadata);
        var end = (await Events.ReadLastAsync(stream))!.Version;
        Assert.Equal(end, (await Events.ReadFirstAsync(stream))!.Version); // only the last event is served

        await using var cold = await ColdNodeAsync();
        var answers = new List<string>();
        foreach (var (node, name) in new[] { (Host, "the node that served the patient"), (cold, "a node reading the stream afresh") })
        {
            using var access = await node.As("riverside physician").PostJsonAsync($"/patients/{patient}/access",
                new { purpose = "treatment", categories = new[] { "conditions" } });
            var body = await access.Content.ReadAsStringAsync();
            if (access.StatusCode != HttpStatusCode.Conflict || !body.Contains("damaged-stream")) answers.Add($"{name}: {(int)access.StatusCode} {body}");
        }
        Assert.True(answers.Count == 0, string.Join("\n", answers));
        Assert.Equal(end, (await Events.ReadLastAsync(stream))!.Version);
    }

    /// <summary>
    /// The takeover (<see cref="HiddenStreamStartSpec"/>) with the whole stream soft-deleted rather than its start cut:
    /// the node reading it afresh appends the registration with no-stream, which EventStoreDB stores after the deleted
    /// events — while the service's receipt says version 0.
    /// </summary>
    [SkippableFact]
    public Task A_registration_decided_on_a_soft_deleted_stream_cannot_take_the_patient_over() =>
        AssertNoTakeoverAsync(async stream =>
        {
            await using var attacker = new EventStoreDbAttacker(Host);
            await attacker.SoftDeleteAsync(stream);
        });

    protected override async Task HideStartAsync(string stream)
    {
        await using var attacker = new EventStoreDbAttacker(Host);
        await attacker.TruncateBeforeAsync(stream, 1);
    }

    protected override async Task RestoreAsync(string stream)
    {
        await using var attacker = new EventStoreDbAttacker(Host);
        // As before a scavenge. A stream still soft-deleted takes the first metadata write as undeleting it at its end
        // (EventStoreDB sets $tb to its length, whatever the write says); the second serves it from version 0 again.
        // On a stream truncated with $tb, or recreated by an append, the second write changes nothing.
        await attacker.TruncateBeforeAsync(stream, 0);
        await attacker.TruncateBeforeAsync(stream, 0);
    }

    /// <summary>
    /// On EventStoreDB, whoever can write to the server appends one foreign event (a tree head's type, no envelope, no
    /// endorsement) at the <c>ledger</c> stream's end with an own gRPC client. As with a junk row on PostgreSQL
    /// (<see cref="HiddenStreamStartOnPostgresTests.Tree_heads_are_signed_again_after_a_junk_row_is_appended_to_the_ledger_stream"/>),
    /// the ledger builder, which folds the ledger stream to sign its next head, can sign none after it, while commands go on
    /// being accepted and every later event stays unproven for good (today: the ledger never grows again).
    /// </summary>
    [SkippableFact]
    public async Task Tree_heads_are_signed_again_after_a_foreign_event_is_appended_to_the_ledger_stream()
    {
        var ledger = HealthEvents.Application.Ledger.LedgerStream.StreamId;
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(ledger)) is not null || await RegisteredFillerAsync(),
            () => "the ledger never signed a head");
        long junk = 0;
        await using (var attacker = new EventStoreDbAttacker(Host))
            await Patience.UntilAsync(async () =>
            {
                var last = (await Events.ReadLastAsync(ledger))!.Version;
                try
                {
                    await attacker.AppendRawAsync(ledger, "ledger.tree-head.v1", "{\"treeSize\":1}", last);
                    junk = last + 1;
                    return true;
                }
                catch (Xunit.Sdk.EqualException)
                {
                    return false; // the attacker's append was refused: the signer appended that version first
                }
            }, () => "the foreign event never found the ledger stream's end");

        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(ledger))!.Version > junk || await RegisteredFillerAsync(),
            () => $"no tree head was signed after the foreign event at version {junk}, while commands were accepted; the node said:\n"
                + string.Join("\n", Host.Logs.Lines.Where(l => l.Contains("LedgerSigner") || l.StartsWith("Error")).TakeLast(5)));
    }

    /// <summary>
    /// On EventStoreDB, whoever can write to the server hides the <c>ledger</c> stream's first tree head with stream metadata
    /// (<c>$tb</c> 1, the server's own tool; the head is still in <c>$all</c>). A node folding the ledger stream afresh
    /// (restarted or new, as every endorser that restarts) must still sign the next head: the fold passes over events there
    /// that do not read or link so that one event written past the service does not stop every later head, and one hidden
    /// must not either (today: a fresh node's signing fails on the hidden start, every time).
    /// </summary>
    [SkippableFact]
    public Task A_node_folding_the_ledger_stream_afresh_signs_heads_after_its_first_head_is_hidden_with_tb() =>
        AssertFreshNodeSignsAfterAsync(async () =>
        {
            await using var attacker = new EventStoreDbAttacker(Host);
            await attacker.TruncateBeforeAsync(HealthEvents.Application.Ledger.LedgerStream.StreamId, 1);
        }, "$tb hid version 0");
}
