using System.Net;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to EventStoreDB hides the network stream's beginning (<c>$tb</c> past the founding's first
/// event, or the whole stream, as a soft delete does): the founding every key and policy comes from is no longer read.
/// Nothing may be decided on what is left, checks name the network stream, no answer is a 500, a restart says what is
/// missing and how to restore it, and once restored the node trusts the network again.
/// </summary>
public sealed class NetworkStreamCutAttackTests() : ServiceOnStore(TestStore.EventStoreDb)
{
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(-1)] // the whole stream
    public async Task The_network_stream_cut_before_is_named_and_nothing_is_decided_on_the_rest(int before)
    {
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-locum", role = "physician" })).StatusCode);
        var (patient, patientClient) = await Host.NewPatientAsync("Nora Network");
        var events = Host.Services.GetRequiredService<IEventStore>();
        var length = (await events.ReadLastAsync(NetworkStream.StreamId))!.Version + 1;
        await using var attacker = new EventStoreDbAttacker(Host);
        await attacker.TruncateBeforeAsync(NetworkStream.StreamId, before < 0 ? length : before);

        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        // The running node's view of the network must notice that its founding is no longer there (today it keeps its
        // cached view: readiness stays "ready" and a network command is endorsed and appended, 201).
        await directory.RefreshAsync();
        Assert.Equal(0, directory.Untrusted?.Version);

        await AssertVerificationNamesNetworkStartAsync(patientClient, patient);

        using var readiness = await Host.Client().GetAsync("/health/ready");
        Assert.StartsWith("untrusted from network@0", (await readiness.JsonAsync()).GetProperty("checks").GetProperty("network").GetString());

        using var network = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Assert.True(network.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable,
            $"{(int)network.StatusCode}: {await network.Content.ReadAsStringAsync()}");

        using var entry = await Host.PostEntryAsync(patient);
        await entry.AssertNoServerErrorAsync();

        // A node restarted on this store and data folder refuses to start, naming what is missing, where, and the way out.
        var restart = await Assert.ThrowsAsync<GenesisMismatchException>(() =>
            ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, Host.DataFolder, Host.EventStoreDbPrefix)));
        Assert.Contains("The network's founding is missing", restart.Message);
        Assert.Contains(before < 0 ? $"network stream {NetworkStream.StreamId} serves no events" : $"network stream {NetworkStream.StreamId} starts at version {before}",
            restart.Message);
        Assert.Contains((await File.ReadAllTextAsync(Path.Combine(Host.DataFolder, "genesis.hash"))).Trim(), restart.Message);
        Assert.Contains("$tb back to 0", restart.Message);
        Assert.DoesNotContain("holds no network", restart.Message);

        // Restored as the message says (before a scavenge): nothing was appended meanwhile, and the running node trusts the
        // network again and decides on it.
        await attacker.TruncateBeforeAsync(NetworkStream.StreamId, 0);
        Assert.Equal(length - 1, (await events.ReadLastAsync(NetworkStream.StreamId))!.Version);
        await directory.RefreshAsync();
        Assert.Null(directory.Untrusted);
        using var restored = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Assert.Equal(HttpStatusCode.Created, restored.StatusCode);
    }
    /// <summary>
    /// The bluntest way to hide the founding: the network stream deleted for good (a tombstone, EventStoreDB's hard delete),
    /// so the server refuses every read of it with "stream deleted" rather than serving it from a later version. The running
    /// node must treat that as its start gone (untrusted at network@0, readiness says so, network commands refused with a
    /// problem, not a 500), a patient's verification must still answer and name the network stream, and a restart must
    /// refuse with the founding-missing message rather than crash on the store's error.
    /// </summary>
    [SkippableFact]
    public async Task The_network_stream_deleted_for_good_is_named_and_no_answer_is_a_500()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Dora Deleted");
        await using var attacker = new EventStoreDbAttacker(Host);
        await attacker.HardDeleteAsync(NetworkStream.StreamId);

        using var network = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Assert.True(network.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable,
            $"{(int)network.StatusCode}: {await network.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", network.Content.Headers.ContentType?.MediaType);

        // The command refreshed the directory: readiness now says the network is untrusted from its start.
        using var readiness = await Host.Client().GetAsync("/health/ready");
        var ready = await readiness.Content.ReadAsStringAsync();
        Assert.NotEqual(HttpStatusCode.InternalServerError, readiness.StatusCode);
        Assert.Contains("untrusted from network@0", ready);

        await AssertVerificationNamesNetworkStartAsync(patientClient, patient);

        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        await directory.RefreshAsync();
        Assert.Equal(0, directory.Untrusted?.Version);

        var restart = await Assert.ThrowsAsync<GenesisMismatchException>(() =>
            ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, Host.DataFolder, Host.EventStoreDbPrefix)));
        Assert.Contains("The network's founding is missing", restart.Message);
    }

    /// <summary>The patient's own verification answers (200), does not verify, and names the network stream at version 0.</summary>
    private static async Task AssertVerificationNamesNetworkStartAsync(HttpClient patientClient, Guid patient)
    {
        using var verification = await patientClient.GetAsync($"/patients/{patient}/verification");
        Assert.True(verification.StatusCode == HttpStatusCode.OK, $"{(int)verification.StatusCode}: {await verification.Content.ReadAsStringAsync()}");
        var own = await verification.JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean(), own.ToString());
        Assert.Contains(own.GetProperty("problems").EnumerateArray(), p =>
            p.GetProperty("streamId").GetString() == NetworkStream.StreamId && p.GetProperty("version").GetInt64() == 0);
    }
}
