using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to PostgreSQL rewrites the network's founding in place: version 0's data now names a key of
/// their own, while its stored hash column is left as it was. The running node compares only that stored hash with the
/// one it verified, so it must not take the row's word for it: the founding served is no longer the one it verified (its
/// bytes no longer hash to the stored hash), and the node must stop deciding on the network, as it does when the hash
/// column changes too — readiness untrusted from network@0, network commands refused, nothing appended.
/// </summary>
public sealed class NetworkFoundingRewrittenTests() : ServiceOnStore(TestStore.PostgreSql)
{
    [Fact]
    public async Task The_founding_rewritten_under_its_old_hash_is_noticed_by_the_running_node()
    {
        var events = Host.Services.GetRequiredService<IEventStore>();
        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        await directory.RefreshAsync();
        Assert.Null(directory.Untrusted);
        var founding = await events.ReadStreamAsync(NetworkStream.StreamId).FirstAsync();
        var length = (await events.ReadLastAsync(NetworkStream.StreamId))!.Version + 1;

        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = JsonNode.Parse(founding.Data)!.AsObject();
        Assert.True(data.ContainsKey("endorsementPublicKey"), data.ToJsonString());
        data["endorsementPublicKey"] = PublicKeys.Export(mallory);
        await using (var connection = new Npgsql.NpgsqlConnection(Host.ConnectionString))
        {
            await connection.OpenAsync();
            await using var update = new Npgsql.NpgsqlCommand("UPDATE he_events SET data = $1 WHERE stream_id = 'network' AND version = 0", connection);
            update.Parameters.Add(new() { Value = System.Text.Encoding.UTF8.GetBytes(data.ToJsonString()) });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        // Every reader that checks the bytes sees it: the patient's verification names the network stream at version 0.
        var (patient, patientClient) = await Host.NewPatientAsync("Rowena Rewritten");
        var own = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean(), own.ToString());
        Assert.Contains(own.GetProperty("problems").EnumerateArray(), p =>
            p.GetProperty("streamId").GetString() == NetworkStream.StreamId && p.GetProperty("version").GetInt64() == 0);

        // The running node must see it too, and decide nothing more on that network.
        await directory.RefreshAsync();
        Assert.Equal(0, directory.Untrusted?.Version);
        using var network = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Assert.True(network.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable,
            $"{(int)network.StatusCode}: {await network.Content.ReadAsStringAsync()}");
        Assert.Equal(length - 1, (await events.ReadLastAsync(NetworkStream.StreamId))!.Version);
    }
}
