using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Heads that stop the honest ledger signer, on both stores: every event stored after them stays "newer than the latest
/// signed head", which the anchors (docs/architecture.md, "Which head anchors") count on lasting seconds.
/// </summary>
public abstract partial class HiddenStreamStartSpec
{
    /// <summary>
    /// The store writer alone (no member's key) appends a tree head at the ledger stream's end that links and hashes as the
    /// service would write it and reads as a tree head — of 2^40 leaves — but carries no endorsement. The anchors pass over
    /// it (it does not verify) and name it; the signer takes it for the last head (it reads the stream's last event without
    /// its endorsement) and the ledger decider folds it as the state: no head ever grows past it, so no tree head is signed
    /// again while commands go on being accepted (the junk-row test's repair reads past only what does not read or link).
    /// </summary>
    [SkippableFact]
    public async Task Tree_heads_are_signed_again_after_an_unendorsed_head_over_a_larger_tree_is_appended_to_the_ledger_stream()
    {
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(LedgerStream.StreamId)) is not null || await RegisteredFillerAsync(),
            () => "the ledger never signed a head");
        var forged = new TreeHeadSigned(1L << 40, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), DateTimeOffset.UtcNow);
        var at = await AppendAtLedgerEndAsync(last => Events.AppendAsync(LedgerStream.StreamId, ExpectedVersion.Exactly(last.Version),
            [new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(forged), EventSerializer.Default.Serialize(forged), last.Metadata)]));

        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(LedgerStream.StreamId))!.Version > at || await RegisteredFillerAsync(),
            () => $"no tree head was signed after the unendorsed head at version {at}, while commands were accepted");
    }

    /// <summary>
    /// The two colluders (who meet the policy between themselves) append a tree head stamped at the last instant
    /// <see cref="DateTimeOffset"/> holds: over a tree of 2^40 leaves the log never held, or over the latest honest head's
    /// tree and root (a true tree, a false time). Every route that reads the ledger must still answer (a refusal is fine),
    /// never 500: the first once made proofs ask the view for leaves it cannot have.
    /// </summary>
    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_tree_head_stamped_at_the_end_of_time_gets_answers_never_a_500(bool beyondTheLog)
    {
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(LedgerStream.StreamId)) is not null || await RegisteredFillerAsync(),
            () => "the ledger never signed a head");
        var (patient, patientClient) = await NewConsentingPatientAsync("Tess Timeless", "lakeside");
        var colluders = new ColludingHospitals(Host, "riverside", "lakeside");
        var honest = (await Host.Services.GetRequiredService<HealthEvents.Projections.Ledger.LedgerQuery>().LatestAsync())!;
        var forged = beyondTheLog
            ? new TreeHeadSigned(1L << 40, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), DateTimeOffset.MaxValue)
            : new TreeHeadSigned(honest.TreeSize, honest.RootHash, DateTimeOffset.MaxValue);
        await AppendAtLedgerEndAsync(_ => colluders.AppendAsync(LedgerStream.StreamId, forged));

        var failures = new List<string>();
        await using var cold = await ColdNodeAsync();
        using (var register = await cold.As("northside physician").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1980, sex = "male", name = "Nils New" }))
            if ((int)register.StatusCode >= 500 && register.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
                failures.Add($"POST /patients: {(int)register.StatusCode}");
        using (var access = await cold.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access", new { purpose = "treatment", categories = new[] { "conditions" } }))
            if ((int)access.StatusCode >= 500 && access.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
                failures.Add($"POST /patients/{{id}}/access: {(int)access.StatusCode}");
        var own = cold.Client(cold.Mint("northside", "tess", Domain.Common.Role.Patient, patient));
        foreach (var (client, node) in new[] { (own, "a node reading her afresh"), (patientClient, "her usual node") })
        foreach (var route in new[] { "consents", "verification", "envelopes" })
        {
            using var answer = await client.GetAsync($"/patients/{patient}/{route}");
            if ((int)answer.StatusCode >= 500 && answer.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
                failures.Add($"GET /patients/{{id}}/{route} on {node}: {(int)answer.StatusCode}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\nthe node said: "
            + string.Join("\n", cold.Logs.Lines.Concat(Host.Logs.Lines).Where(l => l.StartsWith("Error") || l.StartsWith("Fail")).Take(2)));
    }

    /// <summary>Runs <paramref name="append"/> (given the ledger stream's last event) until it lands at the stream's end; its version.</summary>
    protected async Task<long> AppendAtLedgerEndAsync(Func<EventEnvelope, Task> append)
    {
        long at = 0;
        // The honest signer appends a head every couple of seconds: append again when it got there first.
        await Patience.UntilAsync(async () =>
        {
            var last = (await Events.ReadLastAsync(LedgerStream.StreamId))!;
            try
            {
                await append(last);
                at = last.Version + 1;
                return true;
            }
            catch (WrongExpectedVersionException)
            {
                return false;
            }
        }, () => "the forged head never found the ledger stream's end");
        return at;
    }
}
