using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static HealthEvents.Application.Tests.ApplicationHost;

namespace HealthEvents.Application.Tests;

public sealed class CommandPathTests
{
    private static CommandContext Doctor => As("dr-north", Role.Physician, "north");

    private static async Task<Guid> RegisterAsync(ApplicationHost host)
    {
        var result = await host.SendAsync(new RegisterPatientCommand(null, "north", 1970, "female", "Test Patient", As("dr-north", Role.Physician, "north")));
        return result.PatientId;
    }

    private static CommandContext PatientSelf(Guid patientId) => As("self", Role.Patient, "north", patientId);

    [Fact]
    public async Task Invalid_command_fails_with_field_errors_and_appends_nothing()
    {
        await using var host = await StartAsync();
        var patientId = await RegisterAsync(host);

        var invalid = await Assert.ThrowsAsync<ValidationException>(() => host.SendAsync(new GrantConsentCommand(
            patientId, null, new GranteeInput("hospital", ""), ["x-rays"], [], ["read"],
            DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(-1), PatientSelf(patientId))));

        Assert.Equal(
            new[] { "Categories", "Grantee.Id", "Purposes", "ValidUntil" },
            invalid.Errors.Select(e => e.PropertyName).Distinct().Order());
        Assert.Single(await host.ReadAsync(PatientStream.StreamId(patientId)));
    }

    [Fact]
    public async Task Rejected_command_appends_nothing()
    {
        await using var host = await StartAsync();
        var patientId = await RegisterAsync(host);

        var rejected = await Assert.ThrowsAsync<RejectedException>(() => host.SendAsync(new AddRecordEntryCommand(
            patientId, null, "conditions", new("icd-10", "E11", null), "note", null, As("dr-south", Role.Physician, "south"))));

        Assert.Equal(RejectionKind.Forbidden, rejected.Rejection.Kind);
        Assert.Single(await host.ReadAsync(PatientStream.StreamId(patientId)));
    }

    [Fact]
    public async Task Access_is_decided_again_against_a_revocation_that_lands_first()
    {
        InterferingStore? store = null;
        await using var host = await StartAsync(inner => store = new InterferingStore(inner));
        var patientId = await RegisterAsync(host);
        var consent = await host.SendAsync(new GrantConsentCommand(patientId, null, new GranteeInput("hospital", "south"),
            ["conditions"], ["treatment"], ["read"], null, null, PatientSelf(patientId)));

        store!.Interference = () => host.SendAsync(new RevokeConsentCommand(patientId, consent.ConsentId, PatientSelf(patientId)));
        store.Times = 1;
        var outcome = await host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], As("dr-south", Role.Physician, "south")));

        Assert.False(outcome.Granted);
        var types = (await host.ReadAsync(PatientStream.StreamId(patientId))).Select(e => e.Type).ToList();
        Assert.Equal(["patient.registered.v1", "consent.granted.v1", "consent.revoked.v1", "access.denied.v1"], types);
    }

    [Fact]
    public async Task Command_gives_up_with_a_conflict_after_bounded_attempts_and_appends_nothing()
    {
        InterferingStore? store = null;
        await using var host = await StartAsync(inner => store = new InterferingStore(inner));
        var patientId = await RegisterAsync(host);
        var interferences = 0;
        store!.Interference = async () =>
        {
            interferences++;
            await host.SendAsync(new AddRecordEntryCommand(patientId, null, "conditions", new("icd-10", "E11", null), "note", null,
                As("dr-north", Role.Physician, "north")));
        };
        store.Times = int.MaxValue;

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], As("dr-south", Role.Physician, "south"))));

        Assert.Equal(CommandExecutor.MaxAttempts, interferences);
        var types = (await host.ReadAsync(PatientStream.StreamId(patientId))).Select(e => e.Type).ToList();
        Assert.DoesNotContain("access.denied.v1", types);
        Assert.Equal(1 + CommandExecutor.MaxAttempts, types.Count);
    }

    [Fact]
    public async Task Concurrent_commands_on_one_patient_all_land_once_in_one_chain()
    {
        await using var host = await StartAsync();
        var patientId = await RegisterAsync(host);

        // Far more writers than attempts: on one node they take turns on the stream instead of colliding, so all land.
        const int writers = 64;
        var entries = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => host.SendAsync(new AddRecordEntryCommand(
            patientId, null, "conditions", new("icd-10", $"C{i}", null), $"note {i}", null, As("dr-north", Role.Physician, "north")))));

        var stream = await host.ReadAsync(PatientStream.StreamId(patientId));
        Assert.Equal(writers + 1, stream.Count);
        Assert.Equal(Enumerable.Range(0, writers + 1).Select(v => (long)v), stream.Select(e => e.Version));
        Assert.Equal(entries.Select(e => e.Receipt.EventIds[0]).Order(), stream.Skip(1).Select(e => e.EventId).Order());
        Assert.True(HealthEvents.Application.Ledger.StreamVerifier.Verify(stream).Verified);
        Assert.Equal(0, host.Services.GetRequiredService<StreamGates>().ActiveGates); // no gate outlives its last command
    }

    [Fact]
    public async Task Commands_queued_for_one_stream_go_as_one_round_and_one_refused_in_the_middle_sinks_nothing()
    {
        InterferingStore? store = null;
        await using var host = await StartAsync(inner => store = new InterferingStore(inner));
        var patientId = await RegisterAsync(host);
        var streamId = PatientStream.StreamId(patientId);
        var consent = await host.SendAsync(new GrantConsentCommand(patientId, null, new GranteeInput("hospital", "south"),
            ["conditions"], ["treatment"], ["read"], null, null, PatientSelf(patientId)));
        var gates = host.Services.GetRequiredService<StreamGates>();
        var chainsBefore = store!.Chains.Count;

        // Held, the stream's turn makes the commands queue; let go, the first one's turn takes all three as one round.
        Task<Receipt> revoke, revokeAgain;
        Task<EntryAddedResult> entry;
        using (await gates.EnterAsync(streamId, default))
        {
            revoke = host.SendAsync(new RevokeConsentCommand(patientId, consent.ConsentId, PatientSelf(patientId)));
            await QueuedAsync(gates, streamId, 1);
            // Refused only on the state the first revocation leaves: decided after it, in the same round.
            revokeAgain = host.SendAsync(new RevokeConsentCommand(patientId, consent.ConsentId, PatientSelf(patientId)));
            await QueuedAsync(gates, streamId, 2);
            entry = host.SendAsync(new AddRecordEntryCommand(patientId, null, "conditions", new("icd-10", "E11", null), "note", null, Doctor));
            await QueuedAsync(gates, streamId, 3);
        }

        var revoked = await revoke;
        var refused = await Assert.ThrowsAsync<RejectedException>(() => revokeAgain);
        var added = await entry;

        Assert.Equal("consent-already-revoked", refused.Rejection.Code);
        Assert.Equal((2L, 3L), (revoked.StreamVersion, added.Receipt.StreamVersion));
        var stream = await host.ReadAsync(streamId);
        Assert.Equal(["patient.registered.v1", "consent.granted.v1", "consent.revoked.v1", "record.entry-added.v1"], stream.Select(e => e.Type));
        Assert.True(HealthEvents.Application.Ledger.StreamVerifier.Verify(stream).Verified);
        // Appended as one chain in one store call.
        Assert.Equal([2], store.Chains.Skip(chainsBefore));
        Assert.Equal(0, gates.ActiveGates);
    }

    /// <summary>Waits (generously) until <paramref name="count"/> commands queue for the stream's turn.</summary>
    private static async Task QueuedAsync(StreamGates gates, string streamId, int count)
    {
        var deadline = DateTime.UtcNow + Patience.Deadline;
        while (gates.Queued(streamId) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} commands did not queue for {streamId}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Retried_command_with_the_same_command_id_is_recorded_once()
    {
        await using var host = await StartAsync();
        var patientId = await RegisterAsync(host);
        var context = As("dr-south", Role.Physician, "south");

        await host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], context));
        var retry = await Assert.ThrowsAsync<RejectedException>(() =>
            host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], context)));

        Assert.Equal("command-already-applied", retry.Rejection.Code);
        Assert.Equal(2, (await host.ReadAsync(PatientStream.StreamId(patientId))).Count);
    }

    [Fact]
    public async Task Forgotten_patients_content_no_longer_decrypts_but_their_chain_verifies()
    {
        await using var host = await StartAsync();
        var patientId = await RegisterAsync(host);
        await host.SendAsync(new AddRecordEntryCommand(patientId, null, "conditions", new("icd-10", "E11", "Diabetes"), "secret note", null, Doctor));
        await host.SendAsync(new GrantConsentCommand(patientId, null, new GranteeInput("hospital", "north"), ["conditions"], ["treatment"], ["read"],
            null, null, PatientSelf(patientId)));
        var before = await host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], Doctor));
        Assert.Equal("secret note", Assert.Single(before.Entries).Text);

        await host.SendAsync(new ForgetPatientCommand(patientId, PatientSelf(patientId)));

        var stream = await host.ReadAsync(PatientStream.StreamId(patientId));
        Assert.Equal("patient.forgotten.v1", stream[^1].Type);
        Assert.True(HealthEvents.Application.Ledger.StreamVerifier.Verify(stream).Verified);
        Assert.DoesNotContain(stream, e => System.Text.Encoding.UTF8.GetString(e.Data).Contains("secret note"));
        await Assert.ThrowsAsync<RejectedException>(() => host.SendAsync(new RequestAccessCommand(patientId, "treatment", ["conditions"], Doctor)));
    }
}
