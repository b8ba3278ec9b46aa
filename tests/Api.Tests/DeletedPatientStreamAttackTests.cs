using HealthEvents.TestSupport;
using System.Net;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to EventStoreDB deletes a patient's stream for good (a tombstone, EventStoreDB's hard delete):
/// the server then refuses every read of it with "stream deleted". The patient's own verification must still answer and
/// name their stream (issue 11: a deleted stream is reported at the exact stream and version), and a command for that
/// patient is refused with a problem, never a 500, and records nothing.
/// </summary>
public sealed class DeletedPatientStreamAttackTests() : ServiceOnStore(TestStore.EventStoreDb)
{
    [SkippableFact]
    public async Task A_patient_stream_deleted_for_good_is_named_by_the_verification_and_no_answer_is_a_500()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Tomasz Tombstone");
        // What the patient's verification holds the stream against (beyond its chain): the views that applied it. A stream
        // deleted before any view saw it is named by `verify` alone (below), so wait for the audit view as an operator's
        // node would have long applied it.
        var audit = Host.Services.GetRequiredService<HealthEvents.Projections.Views.Audit.AuditQuery>();
        await Patience.UntilAsync(async () => await audit.LastVersionAsync(patient) is 0, () => "The audit view never applied the registration.");
        await using var attacker = new EventStoreDbAttacker(Host);
        await attacker.HardDeleteAsync(PatientStream.StreamId(patient));

        using var verification = await patientClient.GetAsync($"/patients/{patient}/verification");
        var body = await verification.Content.ReadAsStringAsync();
        Assert.True(verification.StatusCode == HttpStatusCode.OK, $"{(int)verification.StatusCode}: {body}");
        var own = await verification.JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean(), body);
        Assert.Contains(own.GetProperty("problems").EnumerateArray(), p => p.GetProperty("streamId").GetString() == PatientStream.StreamId(patient));

        // `./run.sh verify`: the whole store, in one pass over the global log (which still holds the stream's events until a
        // scavenge), names the stream at version 0, the first version its reads no longer serve.
        var store = Host.Services.GetRequiredService<IEventStore>();
        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        var whole = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        var broken = Assert.Single(whole.BrokenStreams);
        Assert.Equal((PatientStream.StreamId(patient), 0L), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Contains(broken.Problems, p => p.Code == VerificationCodes.StreamTruncated);

        using var entry = await Host.PostEntryAsync(patient);
        Assert.True(entry.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.Gone or HttpStatusCode.ServiceUnavailable,
            $"{(int)entry.StatusCode}: {await entry.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", entry.Content.Headers.ContentType?.MediaType);
    }
}
