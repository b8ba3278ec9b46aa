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
}
