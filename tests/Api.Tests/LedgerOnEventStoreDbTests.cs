using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.TestSupport;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>The ledger with the service on EventStoreDB, and a stream deleted there past the service.</summary>
public sealed class LedgerOnEventStoreDbTests() : LedgerSpec(TestStore.EventStoreDb)
{
    /// <summary>
    /// A soft delete (truncate-before at the stream's length) hides the stream from stream reads, while $all keeps its
    /// events until a scavenge — so the signed head still recomputes from $all, and it is the whole-store verification
    /// (`./run.sh verify`) that names the stream, at version 0.
    /// </summary>
    [SkippableFact]
    public async Task A_deleted_stream_is_reported_at_its_stream_and_version_0_by_verify()
    {
        var doctor = Host.As("northside physician");
        var victim = await RegisterAsync(doctor, "Heidi Ledger");
        var head = await HeadCoveringAsync(doctor, (await LeafEventsAsync()).Count);
        Assert.True((await Host.Services.GetRequiredService<LedgerVerifier>()
            .VerifyAsync(head.GetProperty("treeSize").GetInt64(), Hex(head.GetProperty("rootHash")))).Verified);
        var store = Host.Services.GetRequiredService<IEventStore>();
        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        Assert.True((await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker })).Verified);

        var stream = (await LeafEventsAsync()).Single(e => e.EventId == victim).StreamId;
        Assert.True(PatientStream.TryParseStreamId(stream, out var patient));
        var audit = Host.Services.GetRequiredService<AuditQuery>();
        await Patience.UntilAsync(async () => await audit.LastVersionAsync(patient) is 0, () => "The audit view never applied the registration.");
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.TruncateBeforeAsync(stream, 1); // its one event

        Assert.Empty(await store.ReadStreamAsync(stream).ToListAsync());
        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.False(report.Verified);
        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal(stream, broken.StreamId);
        Assert.Equal(0, broken.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.StreamTruncated, broken.Problems[0].Code);

        // The patient's own verification agrees: the audit view applied version 0, which the stream no longer serves.
        var own = await (await Host.Client(Host.Mint("northside", "heidi", Role.Patient, patient)).GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean());
        Assert.Equal(0, own.GetProperty("firstBrokenVersion").GetInt64());
        var problem = own.GetProperty("problems")[0];
        Assert.Equal(VerificationCodes.StreamTruncated, problem.GetProperty("code").GetString());
        Assert.Equal(stream, problem.GetProperty("streamId").GetString());
    }

    /// <summary>
    /// Events appended past the service without its envelope — junk at the end of a patient stream, a member joining
    /// at the end of the network stream — are in the global log all the same, so the whole-store verification
    /// (`./run.sh verify`) names each at its stream and version.
    /// </summary>
    [SkippableFact]
    public async Task Events_appended_without_the_envelope_are_reported_at_their_stream_and_version_by_verify()
    {
        var doctor = Host.As("northside physician");
        var victim = await RegisterAsync(doctor, "Ivo Foreign");
        var store = Host.Services.GetRequiredService<IEventStore>();
        var stream = (await LeafEventsAsync()).Single(e => e.EventId == victim).StreamId;
        var patientEnd = (await store.ReadLastAsync(stream))!.Version;
        var networkEnd = (await store.ReadLastAsync(NetworkStream.StreamId))!.Version;
        await using (var attacker = new EventStoreDbAttacker(Host))
        {
            await attacker.AppendRawAsync(stream, "junk", "{}", patientEnd);
            await attacker.AppendRawAsync(NetworkStream.StreamId, "network.hospital-joined.v1",
                """{"hospitalId":"mallory","name":"Mallory","endorsementKey":"AA=="}""", networkEnd);
        }

        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.False(report.Verified);
        var broken = report.BrokenStreams.ToDictionary(s => s.StreamId, s => s.FirstBrokenVersion);
        Assert.Equal(patientEnd + 1, broken[stream]);
        Assert.Equal(networkEnd + 1, broken[NetworkStream.StreamId]);
        Assert.Equal(2, broken.Count);
    }

    /// <summary>
    /// Any client may give an event it appends a type starting with '$' — the server's own names, such as <c>$&gt;</c> for a
    /// link — and stores it in the stream like any other. Stream reads serve it (the service refuses to decide on the
    /// stream, the network directory distrusts the network from there), but the global log leaves '$' types out as system
    /// events, so the whole-store verification (`./run.sh verify`) and the ledger never see it: `verify` reports every
    /// stream intact while the service says an operator must run verify on it. Each must be named at its stream and version.
    /// </summary>
    [SkippableTheory]
    [InlineData("patient")]
    [InlineData("network")]
    public async Task An_event_of_a_reserved_type_appended_past_the_service_is_reported_at_its_stream_and_version_by_verify(string which)
    {
        var doctor = Host.As("northside physician");
        var victim = await RegisterAsync(doctor, "Ursula Reserved");
        var store = Host.Services.GetRequiredService<IEventStore>();
        var stream = which == "network" ? NetworkStream.StreamId : (await LeafEventsAsync()).Single(e => e.EventId == victim).StreamId;
        var end = (await store.ReadLastAsync(stream))!.Version;
        await using (var attacker = new EventStoreDbAttacker(Host))
            await attacker.AppendForeignAsync(stream, "$>", $"0@{Host.EventStoreDbPrefix}{NetworkStream.StreamId}", "{}");

        // The stream serves it: what the service decides on and the patient's page reads.
        Assert.Equal(end + 1, (await store.ReadLastAsync(stream))!.Version);

        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        var report = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.False(report.Verified, $"verify holds {stream}, which serves an event at version {end + 1} nobody endorsed, for intact");
        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((stream, end + 1), (broken.StreamId, broken.FirstBrokenVersion));

        // Every reader of the global log sees it alike: it is a leaf of the ledger, and every view moves past it
        // (skipping what it cannot read) instead of stalling on it.
        var leaves = await LeafEventsAsync();
        var reserved = Assert.Single(leaves, e => e.StreamId == stream && e.Version == end + 1);
        Assert.Equal("$>", reserved.Type);
        var runner = Host.Services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionRunner>();
        Assert.True(await runner.WaitForAsync(reserved.Position!.Value, TimeSpan.FromMinutes(2)), "every view moves past the event");
        if (which == "patient")
        {
            // The endorsers' witnesses read the same log: a tree head covering it is endorsed, and recomputes from the store.
            var head = await HeadCoveringAsync(doctor, leaves.Count);
            Assert.True((await Host.Services.GetRequiredService<LedgerVerifier>()
                .VerifyAsync(head.GetProperty("treeSize").GetInt64(), Hex(head.GetProperty("rootHash")))).Verified);
        }
    }
}
