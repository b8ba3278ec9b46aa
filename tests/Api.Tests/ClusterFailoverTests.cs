using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// EventStoreDB as a cluster that fails over: the service on a 3-node cluster of the test's own (started from
/// ../shared/eventstoredb on free ports, in a private run folder, stopped at the end whatever happens), eight clinical
/// systems sending commands under Idempotency-Keys, the leader stopped under that load. Commands meanwhile answer 503
/// with Retry-After, never 500; after the election every acknowledged event is stored exactly once and nothing twice
/// (appends caught by the failure are sent again byte for byte, retried commands look for their events first); a
/// subscription to the service's log, like the projections', resumes on the new leader without a gap or a repeat; and
/// the patient's audit view holds every acknowledged access once. Without the distribution the test is skipped with
/// that reason.
/// </summary>
public sealed class ClusterFailoverTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <param name="freeze">Freeze the leader (SIGSTOP: connections stay open, nothing answers) instead of stopping it;
    /// it is thawed once the others have elected a new leader, and comes back as a stale former leader.</param>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_leader_stopped_under_load_loses_doubles_and_skips_nothing(bool freeze)
    {
        var distribution = LocalEventStoreDbCluster.FindDistribution(out var reason);
        Skip.If(distribution is null, reason);
        await using var cluster = await LocalEventStoreDbCluster.StartAsync(distribution!);
        // A node that must truncate its log after the election exits and is started again, as under systemd or docker.
        // A call gives up on the cluster after about a second without a leader, so commands during the election
        // take the 503 path (and their retries the "earlier attempt" path) rather than waiting it out.
        var node = await ServiceHost.NewNodeAsync() with
        {
            EventStoreDbPrefix = ServiceHost.Node.NewPrefix(),
            EventStoreDb = cluster.ConnectionString + "&maxDiscoverAttempts=5&discoveryInterval=200" + (freeze ? "&defaultDeadline=2000" : ""),
        };
        await using var host = await ServiceHost.StartAsync(node);

        // Reads the service's log as its projections do: subscribed from the start, through the failover.
        await using var reader = new EventStoreDbEventStore(EventStoreDbSettings.Parse(cluster.ConnectionString), new EventStoreDbStoreOptions { StreamPrefix = node.EventStoreDbPrefix! });
        var seen = new ConcurrentQueue<EventEnvelope>();
        using var stopReading = new CancellationTokenSource();
        var subscription = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in reader.SubscribeAllAsync(null, stopReading.Token)) seen.Enqueue(e);
            }
            catch (OperationCanceledException) when (stopReading.IsCancellationRequested) { }
        });

        var load = new AccessLoad(host.Address, host.DataFolder);
        using var stopWriting = new CancellationTokenSource();
        var writers = load.RunAsync(8, stopWriting.Token);
        try
        {
            await load.AcknowledgedAtLeastAsync(16, Patience.Deadline);
            // The service reports the leader it last learned from gossip: asked until it has one (an election may be settling).
            int? known = null;
            await Patience.UntilAsync(async () => (known = await LeaderAsync(host)) is not null, () => "the service reports no leader before the failover");
            var leader = known!.Value;
            if (freeze) cluster.PauseNode(leader);
            else await cluster.StopNodeAsync(leader);
            var before = load.Acknowledged.Count;

            await Patience.UntilAsync(async () => await LeaderAsync(host) is { } next && next != leader, () => "the service never reported a new leader:\n"
                + string.Join("\n", cluster.NodePorts.Where(p => p != leader).Select(p => cluster.LogTail(p, 10))));
            await load.AcknowledgedAtLeastAsync(before + 16, Patience.Deadline); // the load goes on against the new leader
            if (freeze)
            {
                cluster.ResumeNode(leader); // the former leader wakes up believing it leads, under the same load
                var resumed = load.Acknowledged.Count;
                await load.AcknowledgedAtLeastAsync(resumed + 16, Patience.Deadline);
            }
        }
        finally
        {
            await stopWriting.CancelAsync();
            await writers; // raises a writer's failed assertion (a 503 without Retry-After)
            foreach (var incident in cluster.Incidents) output.WriteLine(incident);
            output.WriteLine($"answers: {string.Join(", ", load.Statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}; 409s: {string.Join(", ", load.Conflicts)}");
        }

        Assert.DoesNotContain(500, load.Statuses);
        Assert.Contains(200, load.Statuses);

        // Exactly once: no event id twice in the service's log, every acknowledged one in it.
        var store = host.Services.GetRequiredService<IEventStore>();
        var log = new List<EventEnvelope>();
        for (GlobalPosition? after = null; await store.ReadAllAsync(after, 1000) is { Count: > 0 } page; after = page[^1].Position)
            log.AddRange(page);
        var stored = log.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(stored, s => Assert.Equal(1, s.Value));
        Assert.All(load.Acknowledged, id => Assert.True(stored.ContainsKey(id), $"acknowledged event {id} is not stored"));

        // The subscription resumed on the new leader: the log as read now, in order, nothing skipped or repeated.
        await Patience.UntilAsync(() => Task.FromResult(seen.Count >= log.Count), () => $"the subscription saw {seen.Count} of {log.Count} events");
        await stopReading.CancelAsync();
        await subscription;
        var followed = seen.ToList();
        Assert.Equal(followed.Count, followed.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(log.Select(e => (e.EventId, e.Position)), followed.Take(log.Count).Select(e => (e.EventId, e.Position)));

        // The projections followed too: Alice's audit view holds every acknowledged access, each once.
        using var alice = load.Client("alice (patient)");
        await Patience.UntilAsync(async () =>
        {
            var rows = await AuditRowsAsync(alice);
            Assert.Equal(rows.Count, rows.Distinct().Count());
            return load.Acknowledged.All(id => rows.Contains(id.ToString()));
        }, () => "Alice's audit view did not come to hold every acknowledged access");
        var verification = await (await alice.GetAsync($"/patients/{AccessLoad.Alice}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());

        // Operators see the cluster as it is now: three members, the stopped one not alive, a leader among the others.
        var ready = await (await host.Client().GetAsync("/health/ready")).JsonAsync();
        var members = ready.GetProperty("cluster").GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(3, members.Count);
        Assert.Contains(members, m => m.GetProperty("state").GetString() == "Leader" && m.GetProperty("alive").GetBoolean());
    }

    /// <summary>The leader's port as the service's readiness reports it (from gossip), or null during an election.</summary>
    internal static async Task<int?> LeaderAsync(ServiceHost host)
    {
        using var response = await host.Client().GetAsync("/health/ready");
        var body = await response.JsonAsync();
        return body.TryGetProperty("cluster", out var cluster) && cluster.GetProperty("leader") is { ValueKind: JsonValueKind.String } leader
            ? int.Parse(leader.GetString()!.Split(':')[^1])
            : null;
    }

    private static async Task<List<string>> AuditRowsAsync(HttpClient alice)
    {
        var rows = new List<string>();
        string? cursor = null;
        do
        {
            var page = await (await alice.GetAsync($"/patients/{AccessLoad.Alice}/audit?limit=200" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"))).JsonAsync();
            rows.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("eventId").GetString()!));
            cursor = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        } while (cursor is not null);
        return rows;
    }
}
