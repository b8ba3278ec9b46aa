using System.Net;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The global ledger over HTTP on the seeded demo, on either store (<see cref="LedgerTests"/> on PostgreSQL,
/// <see cref="LedgerOnEventStoreDbTests"/> on EventStoreDB): endorsed tree heads, inclusion and consistency proofs, and
/// (per store, as an attacker there can) a dropped event found.
/// </summary>
public abstract class LedgerSpec(TestStore store) : ServiceOnStore(store)
{
    protected static byte[] Hex(JsonElement e) => Convert.FromHexString(e.GetString()!);

    /// <summary>Events of the global log that are leaves (everything but the ledger stream's own).</summary>
    protected async Task<List<EventEnvelope>> LeafEventsAsync()
    {
        var store = Host.Services.GetRequiredService<IEventStore>();
        var all = new List<EventEnvelope>();
        GlobalPosition? after = null;
        while (await store.ReadAllAsync(after, 1000) is { Count: > 0 } batch)
        {
            all.AddRange(batch.Where(e => LedgerStream.IsLeaf(e.StreamId)));
            after = batch[^1].Position;
        }
        return all;
    }

    /// <summary>Waits for a signed tree head covering at least <paramref name="size"/> leaves.</summary>
    protected static async Task<JsonElement> HeadCoveringAsync(HttpClient client, long size)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.GetAsync("/ledger/checkpoints/latest");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var head = await response.JsonAsync();
                if (head.GetProperty("treeSize").GetInt64() >= size) return head;
            }
            else Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, $"no tree head covering {size} leaves was signed");
            await Task.Delay(100);
        }
    }

    protected async Task<Guid> RegisterAsync(HttpClient doctor, string name)
    {
        var registered = await doctor.PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1970, sex = "male", name });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        return (await registered.JsonAsync()).GetProperty("receipt").GetProperty("eventIds")[0].GetGuid();
    }

    [SkippableFact]
    public async Task Tree_heads_are_endorsed_and_proofs_verify_against_them()
    {
        var doctor = Host.As("northside physician");
        var firstEvent = await RegisterAsync(doctor, "Frank Ledger");
        var head1 = await HeadCoveringAsync(doctor, (await LeafEventsAsync()).Count);
        var size1 = head1.GetProperty("treeSize").GetInt64();
        var root1 = Hex(head1.GetProperty("rootHash"));
        Assert.True(head1.GetProperty("endorsedBy").GetArrayLength() >= 2);

        // The head is what the ledger stream holds, and its root is the tree over the stored event hashes.
        var store = Host.Services.GetRequiredService<IEventStore>();
        var headEvent = await store.ReadStreamAsync(LedgerStream.StreamId).FirstAsync(e => e.EventId == head1.GetProperty("eventId").GetGuid());
        Assert.Equal(head1.GetProperty("streamVersion").GetInt64(), headEvent.Version);
        Assert.True(headEvent.Endorsement!.Signatures.Count >= 2);
        var leaves = await LeafEventsAsync();
        Assert.Equal(root1, MerkleTree.Root([.. leaves.Take((int)size1).Select(e => e.Hash)]));

        // Inclusion of the registration under the signed head; its leaf is the event's stored hash.
        var response = await doctor.GetAsync($"/ledger/proofs/inclusion?eventId={firstEvent}&treeSize={size1}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var inclusion = await response.JsonAsync();
        var leaf = Hex(inclusion.GetProperty("leafHash"));
        Assert.Equal(leaves.Single(e => e.EventId == firstEvent).Hash, leaf);
        Assert.Equal(root1, Hex(inclusion.GetProperty("rootHash")));
        var path = inclusion.GetProperty("path").EnumerateArray().Select(Hex).ToList();
        Assert.True(MerkleTree.VerifyInclusion(leaf, inclusion.GetProperty("leafIndex").GetInt64(), size1, path, root1));
        Assert.False(MerkleTree.VerifyInclusion(leaf, inclusion.GetProperty("leafIndex").GetInt64() ^ 1, size1, path, root1));

        // A later head extends the earlier one.
        var secondEvent = await RegisterAsync(doctor, "Grace Ledger");
        var head2 = await HeadCoveringAsync(doctor, size1 + 1);
        var size2 = head2.GetProperty("treeSize").GetInt64();
        var root2 = Hex(head2.GetProperty("rootHash"));
        var consistency = await (await doctor.GetAsync($"/ledger/proofs/consistency?from={size1}&to={size2}")).JsonAsync();
        Assert.Equal(root1, Hex(consistency.GetProperty("fromRoot")));
        Assert.Equal(root2, Hex(consistency.GetProperty("toRoot")));
        var proof = consistency.GetProperty("proof").EnumerateArray().Select(Hex).ToList();
        Assert.True(MerkleTree.VerifyConsistency(size1, size2, root1, root2, proof));
        Assert.False(MerkleTree.VerifyConsistency(size1, size2, root2, root1, proof));

        // The second event is not under the first head; unknown events and unsigned sizes are refused.
        Assert.Equal(HttpStatusCode.BadRequest, (await doctor.GetAsync($"/ledger/proofs/inclusion?eventId={secondEvent}&treeSize={size1}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await doctor.GetAsync($"/ledger/proofs/inclusion?eventId={Guid.NewGuid()}&treeSize={size1}")).StatusCode);
        var unsigned = await doctor.GetAsync($"/ledger/proofs/inclusion?eventId={firstEvent}&treeSize={size2 + 1000}");
        Assert.Equal(HttpStatusCode.BadRequest, unsigned.StatusCode);
        Assert.Equal("application/problem+json", unsigned.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.BadRequest, (await doctor.GetAsync($"/ledger/proofs/consistency?from={size1}&to={size2 + 1000}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await doctor.GetAsync($"/ledger/proofs/consistency?from={size2}&to={size1}")).StatusCode);

        // Anyone authenticated, nobody else.
        Assert.Equal(HttpStatusCode.OK, (await Host.As("alice (patient)").GetAsync("/ledger/checkpoints/latest")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.Client().GetAsync("/ledger/checkpoints/latest")).StatusCode);
    }
}

/// <summary>The ledger on PostgreSQL, and an event deleted from the events table by someone with SQL access.</summary>
public sealed class LedgerTests() : LedgerSpec(TestStore.PostgreSql)
{
    [Fact]
    public async Task A_dropped_event_is_found_by_recomputing_the_signed_head_from_the_store()
    {
        var doctor = Host.As("northside physician");
        var victim = await RegisterAsync(doctor, "Heidi Ledger");
        // The global log shows an event once every transaction before it has ended (on a busy server, a moment later).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        List<EventEnvelope> leaves;
        while ((leaves = await LeafEventsAsync()).All(e => e.EventId != victim) && DateTime.UtcNow < deadline) await Task.Delay(100);
        var victimLeaf = leaves.FindIndex(e => e.EventId == victim);
        Assert.True(victimLeaf >= 0, "the registration never showed in the global log");
        var head = await HeadCoveringAsync(doctor, victimLeaf + 1);
        var size = head.GetProperty("treeSize").GetInt64();
        var root = Hex(head.GetProperty("rootHash"));
        var verifier = Host.Services.GetRequiredService<LedgerVerifier>();

        var intact = await verifier.VerifyAsync(size, root);
        Assert.True(intact.Verified);
        Assert.Equal(size, intact.LeavesFound);

        // A whole stream (here: a one-event one) dropped leaves every per-stream chain intact; the ledger notices.
        await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE event_id = '{victim}'");
        var broken = await verifier.VerifyAsync(size, root);
        Assert.False(broken.Verified);
        Assert.NotEqual(broken.SignedRoot, broken.RecomputedRoot);
    }
}
