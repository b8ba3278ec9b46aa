using System.Net;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to the store appends a member to the network stream past the service and its endorsers:
/// correctly linked, metadata copied from the founding event, no endorsement. The node's own view of the network must
/// not take it in.
/// </summary>
public abstract class ForgedNetworkMemberSpec(TestStore store) : ServiceOnStore(store)
{
    [SkippableFact]
    public async Task A_member_appended_without_endorsement_never_joins_and_readiness_says_where()
    {
        // An endorsed change after the founding, so the forgery cannot pass as more of the founding command (its
        // exemption is the genesis pin's business, tested with the verifier).
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-locum", role = "physician" })).StatusCode);
        var events = Host.Services.GetRequiredService<IEventStore>();
        var founding = await events.ReadStreamAsync(NetworkStream.StreamId).FirstAsync();
        var end = (await events.ReadLastAsync(NetworkStream.StreamId))!.Version;
        var forged = new HospitalJoined("mallory", "Mallory General", "http://127.0.0.1:9/", "mallory-e1", "AAAA", "mallory-i1", "AAAA");
        var serializer = Host.Services.GetRequiredService<EventSerializer>();
        await events.AppendAsync(NetworkStream.StreamId, ExpectedVersion.Exactly(end),
            [new ProposedEvent(Guid.NewGuid(), serializer.NameOf(forged), serializer.Serialize(forged), founding.Metadata)]);

        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        var network = await directory.RefreshAsync();

        Assert.DoesNotContain("mallory", network.Hospitals.Keys);
        Assert.Contains("northside", network.Hospitals.Keys);
        Assert.Contains(network.Practitioners.Keys, k => k.Contains("northside-locum", StringComparison.Ordinal));
        var listed = await (await Host.As("northside admin").GetAsync("/network")).JsonAsync();
        Assert.DoesNotContain(listed.GetProperty("hospitals").EnumerateArray(), h => h.GetProperty("id").GetString() == "mallory");
        Assert.Equal(end + 1, directory.Untrusted?.Version);
        using var readiness = await Host.Client().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, readiness.StatusCode);
        var ready = await readiness.JsonAsync();
        Assert.Equal("degraded", ready.GetProperty("status").GetString());
        Assert.StartsWith($"untrusted from network@{end + 1}", ready.GetProperty("checks").GetProperty("network").GetString());

        // Nor does it change what the network decides: a network command on the stream refuses to build on it.
        await AssertNetworkCommandRefusedAsync(end + 1);
    }

    /// <summary>
    /// The forgery the founding's exemption invited: a member appended right after the founding (through gRPC on
    /// EventStoreDB, the store's own SQL on PostgreSQL), linked, carrying version 0's metadata — the founding's command id
    /// and the genesis actor — so that by its metadata it is more of the founding, which nobody endorses. The founder
    /// pinned the founding's length and last hash, so it is no part of it: unendorsed at its exact version for verify,
    /// the patient's own verification and the network directory, and no network command is decided on it.
    /// </summary>
    [SkippableFact]
    public async Task A_member_passed_off_as_more_of_the_founding_is_unendorsed_at_its_version_everywhere()
    {
        var events = Host.Services.GetRequiredService<IEventStore>();
        var founding = await events.ReadStreamAsync(NetworkStream.StreamId).ToListAsync();
        Assert.All(founding, e => Assert.Null(e.Endorsement)); // the stream holds its founding only, so the forgery follows it
        var end = founding[^1].Version;
        // What the founder pinned: the founding's length and its last event's hash.
        Assert.Equal($"{founding.Count}:{Convert.ToHexStringLower(founding[^1].Hash)}",
            (await File.ReadAllTextAsync(Path.Combine(Host.DataFolder, "genesis.hash"))).Trim());
        var (patient, patientClient) = await Host.NewPatientAsync("Frida Founding");

        var serializer = Host.Services.GetRequiredService<EventSerializer>();
        var forged = new HospitalJoined("mallory", "Mallory General", "http://127.0.0.1:9/", "mallory-e1", "AAAA", "mallory-i1", "AAAA");
        var proposed = new ProposedEvent(Guid.NewGuid(), serializer.NameOf(forged), serializer.Serialize(forged), founding[0].Metadata);
        if (Host.OnEventStoreDb)
        {
            await using var attacker = new EventStoreDbAttacker(Host);
            await attacker.AppendAsync(HashChain.Link(NetworkStream.StreamId, end, founding[^1].Hash, [proposed], null)[0], null, end);
        }
        else await events.AppendAsync(NetworkStream.StreamId, ExpectedVersion.Exactly(end), [proposed]);

        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        Assert.DoesNotContain("mallory", (await directory.RefreshAsync()).Hospitals.Keys);
        Assert.Equal((end + 1, VerificationCodes.Unendorsed), (directory.Untrusted?.Version, directory.Untrusted?.Code));

        var report = await StoreVerifier.VerifyAsync(events, new StoreVerifierOptions
        {
            EndorsementChecker = await EndorsementChecker.LoadAsync(events, serializer),
            Genesis = Host.Services.GetRequiredService<NetworkGenesisPin>(),
        });
        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((NetworkStream.StreamId, end + 1), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Equal(VerificationCodes.Unendorsed, Assert.Single(broken.Problems).Code);

        var own = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean());
        var problem = Assert.Single(own.GetProperty("problems").EnumerateArray());
        Assert.Equal((NetworkStream.StreamId, end + 1, VerificationCodes.Unendorsed),
            (problem.GetProperty("streamId").GetString(), problem.GetProperty("version").GetInt64(), problem.GetProperty("code").GetString()));

        if (!Host.OnEventStoreDb)
        {
            var verify = await Host.RunVerbAsync("verify");
            Assert.True(verify.ExitCode == 1, $"exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
            Assert.Contains($"network v{end + 1}: unendorsed:", verify.Stdout);
        }

        await AssertNetworkCommandRefusedAsync(end + 1);
    }

    /// <summary>A network command on a stream that fails verification at <paramref name="version"/>: 409 damaged-stream naming it, nothing appended.</summary>
    private async Task AssertNetworkCommandRefusedAsync(long version)
    {
        var events = Host.Services.GetRequiredService<IEventStore>();
        var before = (await events.ReadLastAsync(NetworkStream.StreamId))!.Version;

        using var refused = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var body = await refused.JsonAsync();
        Assert.Equal("damaged-stream", body.GetProperty("code").GetString());
        Assert.Contains($"version {version}", body.GetProperty("detail").GetString());
        Assert.Equal(before, (await events.ReadLastAsync(NetworkStream.StreamId))!.Version);
    }
}

public sealed class ForgedNetworkMemberTests() : ForgedNetworkMemberSpec(TestStore.PostgreSql);

public sealed class ForgedNetworkMemberOnEventStoreDbTests() : ForgedNetworkMemberSpec(TestStore.EventStoreDb);
