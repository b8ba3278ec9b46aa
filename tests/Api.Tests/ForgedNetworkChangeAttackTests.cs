using System.Net;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to the store appends a network change after an endorsed one: a key rotation, a policy
/// change, a member — unendorsed, or carrying the genuine endorsement of the change before it (its signatures copied,
/// its first version moved to the forgery's). Every check must name the network stream at the forgery's version,
/// network commands refuse to build on it, and a patient's command never answers 500.
/// </summary>
public abstract class ForgedNetworkChangeAttackSpec(TestStore store) : ServiceOnStore(store)
{
    public static TheoryData<string, bool> Forgeries() => new()
    {
        { "key-rotation", false }, { "key-rotation", true },
        { "endorsement-policy", false }, { "endorsement-policy", true },
        { "membership-policy", false }, { "membership-policy", true },
        { "member", false }, { "member", true },
    };

    [SkippableTheory]
    [MemberData(nameof(Forgeries))]
    public async Task A_forged_network_change_after_an_endorsed_one_is_named_at_its_version_everywhere(string kind, bool replayEndorsement)
    {
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-locum", role = "physician" })).StatusCode);
        var (patient, patientClient) = await Host.NewPatientAsync("Gina Governance");
        var events = Host.Services.GetRequiredService<IEventStore>();
        var genuine = (await events.ReadLastAsync(NetworkStream.StreamId))!;
        Assert.NotNull(genuine.Endorsement);
        var end = genuine.Version;

        using var attackerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        INetworkEvent forged = kind switch
        {
            "key-rotation" => new HospitalKeyRotated("northside", KeyUse.Endorsement, PublicKeys.KeyId(attackerKey),
                PublicKeys.Export(attackerKey), DateTimeOffset.UtcNow),
            "endorsement-policy" => new EndorsementPolicyChanged("OutOf(1, *)"),
            "membership-policy" => new MembershipPolicyChanged("OutOf(1, *)"),
            _ => new HospitalJoined("mallory", "Mallory General", "http://127.0.0.1:9/", "mallory-e1", "AAAA", "mallory-i1", "AAAA"),
        };
        var endorsement = replayEndorsement ? genuine.Endorsement! with { FirstVersion = end + 1, EventCount = 1 } : null;
        var serializer = Host.Services.GetRequiredService<EventSerializer>();
        var proposed = new ProposedEvent(Guid.NewGuid(), serializer.NameOf(forged), serializer.Serialize(forged), genuine.Metadata);
        if (Host.OnEventStoreDb)
        {
            await using var attacker = new EventStoreDbAttacker(Host);
            await attacker.AppendAsync(HashChain.Link(NetworkStream.StreamId, end, genuine.Hash, [proposed], endorsement)[0], endorsement, end);
        }
        else await events.AppendAsync(NetworkStream.StreamId, ExpectedVersion.Exactly(end), [proposed], endorsement);

        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        var network = await directory.RefreshAsync();
        Assert.DoesNotContain("mallory", network.Hospitals.Keys);
        Assert.Equal(end + 1, directory.Untrusted?.Version);

        // One reading, as an operator runs it: verify reads to the log's committed end (an event held back behind an
        // older transaction in flight is waited for, and read once that transaction ends).
        var report = await StoreVerifier.VerifyAsync(events, new StoreVerifierOptions
        {
            EndorsementChecker = await EndorsementChecker.LoadAsync(events, serializer),
            Genesis = Host.Services.GetRequiredService<NetworkGenesisPin>(),
        });
        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((NetworkStream.StreamId, end + 1), (broken.StreamId, broken.FirstBrokenVersion));

        using var verification = await patientClient.GetAsync($"/patients/{patient}/verification");
        Assert.Equal(HttpStatusCode.OK, verification.StatusCode);
        var own = await verification.JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean());
        Assert.Contains(own.GetProperty("problems").EnumerateArray(), p =>
            p.GetProperty("streamId").GetString() == NetworkStream.StreamId && p.GetProperty("version").GetInt64() == end + 1);

        using var readiness = await Host.Client().GetAsync("/health/ready");
        var ready = await readiness.JsonAsync();
        Assert.StartsWith($"untrusted from network@{end + 1}", ready.GetProperty("checks").GetProperty("network").GetString());

        using var refused = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("damaged-stream", (await refused.JsonAsync()).GetProperty("code").GetString());

        // A patient's command works on the network as it was before the forgery, or fails with a problem — never a 500.
        using var entry = await Host.PostEntryAsync(patient);
        await entry.AssertNoServerErrorAsync();
        Assert.Equal(end + 1, (await events.ReadLastAsync(NetworkStream.StreamId))!.Version);
    }
}

public sealed class ForgedNetworkChangeAttackTests() : ForgedNetworkChangeAttackSpec(TestStore.PostgreSql);

public sealed class ForgedNetworkChangeAttackOnEventStoreDbTests() : ForgedNetworkChangeAttackSpec(TestStore.EventStoreDb);
