using System.Net;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A node joining the network is given the founding's pin by its operator (<c>HealthEvents:GenesisHash</c>), one event
/// longer than the founding: it would count the endorsed transaction after the founding as founding, exempt from
/// endorsement. Every pinned event must be the founding command's, so the node refuses to start and says why.
/// </summary>
public abstract class LengthenedPinSpec(TestStore store) : ServiceOnStore(store)
{
    [SkippableFact]
    public async Task A_node_given_a_pin_lengthened_over_an_endorsed_event_does_not_start()
    {
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-locum", role = "physician" })).StatusCode);
        var network = await Host.Services.GetRequiredService<IEventStore>().ReadStreamAsync(NetworkStream.StreamId).ToListAsync();
        var founding = network.TakeWhile(e => e.Endorsement is null).Count();
        var lengthened = $"{founding + 1}:{Convert.ToHexStringLower(network[founding].Hash)}";

        var joining = new ServiceHost.Node(Host.ConnectionString, Path.Combine(Path.GetTempPath(), "he-api-" + Guid.NewGuid().ToString("N")),
            Host.EventStoreDbPrefix);
        var refused = await Assert.ThrowsAsync<GenesisMismatchException>(() => ServiceHost.StartAsync(joining, $"--HealthEvents:GenesisHash={lengthened}"));

        Assert.Contains($"pin {lengthened}", refused.Message);
        Assert.Contains($"counts version {founding} of the network stream as part of its founding, but it carries an endorsement", refused.Message);
        Assert.Contains("HealthEvents:GenesisHash", refused.Message);
        // The founder's own pin, the founding's true length, still holds.
        Assert.Null(Host.Services.GetRequiredService<NetworkDirectory>().Untrusted);
    }
}

public sealed class LengthenedPinTests() : LengthenedPinSpec(TestStore.PostgreSql);

public sealed class LengthenedPinOnEventStoreDbTests() : LengthenedPinSpec(TestStore.EventStoreDb);
