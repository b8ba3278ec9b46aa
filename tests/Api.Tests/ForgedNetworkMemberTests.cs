using System.Net;
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
    }
}

public sealed class ForgedNetworkMemberTests() : ForgedNetworkMemberSpec(TestStore.PostgreSql);

public sealed class ForgedNetworkMemberOnEventStoreDbTests() : ForgedNetworkMemberSpec(TestStore.EventStoreDb);
