using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.TestSupport;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>A real 3-node cluster shared by a test class (<see cref="LocalEventStoreDbCluster"/>); null, with the reason, where no distribution is here.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public LocalEventStoreDbCluster? Cluster { get; private set; }
    public string SkipReason { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var distribution = LocalEventStoreDbCluster.FindDistribution(out var reason);
        SkipReason = reason;
        if (distribution is null) return;
        Cluster = await LocalEventStoreDbCluster.StartAsync(distribution);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
    }
}

/// <summary>
/// How the adapter finds and keeps to the leader of a real 3-node cluster (gossip, not-leader answers), and what it
/// says of a node that stops answering. Each test leaves the cluster as it found it; the failover itself, under the
/// service's load, is <c>ClusterFailoverTests</c> (Api.Tests).
/// </summary>
public sealed class EventStoreDbClusterTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>, IAsyncLifetime
{
    private readonly string _prefix = $"c{Guid.NewGuid():N}"[..13] + "-";
    private readonly List<EventStoreDbEventStore> _stores = [];

    private LocalEventStoreDbCluster Cluster
    {
        get
        {
            Skip.If(fixture.Cluster is null, fixture.SkipReason);
            return fixture.Cluster!;
        }
    }

    private EventStoreDbEventStore NewStore(string connectionString, TimeSpan? healthTimeout = null)
    {
        var store = new EventStoreDbEventStore(EventStoreDbSettings.Parse(connectionString),
            new EventStoreDbStoreOptions { StreamPrefix = _prefix, HealthTimeout = healthTimeout ?? TimeSpan.FromSeconds(2) });
        _stores.Add(store);
        return store;
    }

    internal static ProposedEvent NewEvent() =>
        new(Guid.NewGuid(), "RecordEntryAdded", Encoding.UTF8.GetBytes($"{{\"n\":\"{Guid.NewGuid()}\"}}"), "{\"actor\":\"p-1\"}"u8.ToArray());

    /// <summary>The cluster's leader and followers as gossip reports them once an election has settled.</summary>
    private async Task<(int Leader, int[] Followers)> RolesAsync()
    {
        var gossip = NewStore(Cluster.ConnectionString);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var cluster = await gossip.ReadClusterAsync();
            var followers = cluster?.Members.Where(m => m is { IsAlive: true, State: "Follower" }).Select(m => m.Port).ToArray() ?? [];
            if (cluster?.Leader is { } leader && followers.Length == 2) return (leader.Port, followers);
            Assert.True(waited.Elapsed < Patience.Deadline, $"no settled cluster within {Patience.Deadline}: {string.Join(", ", cluster?.Members ?? [])}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// A connection string naming one follower (no discovery): every call asks for the leader, the follower answers
    /// not-leader naming it, and the call goes there — the append lands once, on the leader, and later calls go
    /// straight to it.
    /// </summary>
    [SkippableFact]
    public async Task A_follower_named_alone_leads_the_store_to_the_leader_and_the_append_lands_once()
    {
        var (leader, followers) = await RolesAsync();
        var store = NewStore($"esdb://127.0.0.1:{followers[0]}?tls=false");

        var first = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent(), NewEvent()]);

        Assert.Equal(leader, store.CurrentNode.Port);
        var callsBefore = store.ServerCalls;
        await store.AppendAsync("patient-1", ExpectedVersion.Exactly(first.LastVersion), [NewEvent()]);
        Assert.Equal(1, store.ServerCalls - callsBefore); // straight to the leader now
        var read = await ReadAsync(NewStore(Cluster.ConnectionString), "patient-1");
        Assert.Equal(first.Events.Select(e => e.EventId), read.Take(2).Select(e => e.EventId));
        Assert.Equal(3, read.Count);
    }

    /// <summary>Seeds of which the first is down: gossip from the others names the leader, and the store talks to it.</summary>
    [SkippableFact]
    public async Task Seeds_with_a_dead_host_among_them_still_lead_to_the_leader()
    {
        var (leader, _) = await RolesAsync();
        var dead = FreePort();
        var seeds = string.Join(',', Cluster.NodePorts.Prepend(dead).Select(p => $"127.0.0.1:{p}"));
        var store = NewStore($"esdb://{seeds}?tls=false&discoveryInterval=100");

        var appended = await store.AppendAsync("patient-2", ExpectedVersion.NoStream, [NewEvent()]);

        Assert.Equal(0, appended.LastVersion);
        Assert.Equal(leader, store.CurrentNode.Port);
        var cluster = await store.ReadClusterAsync();
        Assert.Equal($"127.0.0.1:{leader}", cluster?.Leader?.Endpoint);
        Assert.Equal(Cluster.NodePorts.Select(p => $"127.0.0.1:{p}"), cluster!.Members.Select(m => m.Endpoint));
    }

    /// <summary>
    /// A node that stops answering — frozen, its port still open — makes the store not healthy within its health
    /// timeout rather than hang the readiness probe; running again, it is healthy again.
    /// </summary>
    [SkippableFact]
    public async Task A_frozen_node_is_reported_not_healthy_within_the_timeout_and_healthy_once_it_runs_again()
    {
        var (leader, _) = await RolesAsync();
        // The node the probe reads from (a read asks for the leader, so a follower would send it there).
        var store = NewStore($"esdb://127.0.0.1:{leader}?tls=false", healthTimeout: TimeSpan.FromSeconds(1));
        Assert.True(await store.IsHealthyAsync());

        // Frozen for about the probe's second: less than the cluster's heartbeat timeout, so no election follows.
        Cluster.PauseNode(leader);
        try
        {
            // It answers at all (a hung probe would end in TimeoutException here), and answers no.
            Assert.False(await store.IsHealthyAsync().WaitAsync(Patience.Deadline));
        }
        finally
        {
            Cluster.ResumeNode(leader);
        }
        var waited = Stopwatch.StartNew();
        while (!await store.IsHealthyAsync())
        {
            Assert.True(waited.Elapsed < Patience.Deadline, "the resumed node did not answer again");
            await Task.Delay(200);
        }
    }

    private static async Task<List<EventEnvelope>> ReadAsync(IEventStore store, string stream)
    {
        var events = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(stream)) events.Add(e);
        return events;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _stores) await s.DisposeAsync();
    }
}

/// <summary>
/// A cluster that has lost its majority (two of three nodes stopped) has no leader that can commit: an append neither
/// hangs nor fails obscurely — once the store's discovery attempts are spent (or the lone node's commit times out) it
/// fails as <see cref="EventStoreDbUnavailableException"/>, which the API answers with 503 and Retry-After. The cluster
/// is the test's own: it does not come back.
/// </summary>
public sealed class EventStoreDbLeaderlessClusterTests
{
    [SkippableFact]
    public async Task Without_a_majority_an_append_fails_as_unavailable_naming_the_stream()
    {
        var distribution = LocalEventStoreDbCluster.FindDistribution(out var reason);
        Skip.If(distribution is null, reason);
        await using var cluster = await LocalEventStoreDbCluster.StartAsync(distribution!);
        await using var store = new EventStoreDbEventStore(
            EventStoreDbSettings.Parse(cluster.ConnectionString + "&maxDiscoverAttempts=4&discoveryInterval=250"),
            new EventStoreDbStoreOptions { StreamPrefix = "l-" });
        await store.AppendAsync("patient-1", ExpectedVersion.NoStream,
            [new ProposedEvent(Guid.NewGuid(), "RecordEntryAdded", "{\"text\":\"very private\"}"u8.ToArray(), "{}"u8.ToArray())]);

        foreach (var follower in cluster.NodePorts.Where(p => p != store.CurrentNode.Port)) await cluster.StopNodeAsync(follower);

        var refused = await Assert.ThrowsAsync<EventStoreDbUnavailableException>(() => store.AppendAsync("patient-1", ExpectedVersion.Exactly(0),
            [new ProposedEvent(Guid.NewGuid(), "RecordEntryAdded", "{\"text\":\"very private\"}"u8.ToArray(), "{}"u8.ToArray())]));
        Assert.DoesNotContain("very private", refused.ToString());
    }
}

/// <summary>
/// The leader frozen (SIGSTOP: its connections stay open, nothing answers) with an append on its way: the append fails
/// as unavailable once its deadline has passed, instead of waiting for the connection's keep-alive; the store forgets
/// the node, and the same append sent again reaches the leader the other two elect and lands once. The cluster is the
/// test's own (a thawed leader may upset the elections of a shared one).
/// </summary>
public sealed class EventStoreDbFrozenLeaderTests
{
    [SkippableFact]
    public async Task An_append_to_a_frozen_leader_fails_as_unavailable_at_its_deadline_and_its_retry_lands_once()
    {
        var distribution = LocalEventStoreDbCluster.FindDistribution(out var reason);
        Skip.If(distribution is null, reason);
        await using var cluster = await LocalEventStoreDbCluster.StartAsync(distribution!);
        await using var store = new EventStoreDbEventStore(
            EventStoreDbSettings.Parse(cluster.ConnectionString + "&defaultDeadline=1000&discoveryInterval=200"),
            new EventStoreDbStoreOptions { StreamPrefix = "f-" });
        var first = await store.AppendAsync("patient-3", ExpectedVersion.NoStream, [EventStoreDbClusterTests.NewEvent()]);
        ProposedEvent[] events = [EventStoreDbClusterTests.NewEvent(), EventStoreDbClusterTests.NewEvent()];
        var leader = store.CurrentNode.Port;

        cluster.PauseNode(leader);
        try
        {
            // A generous bound only: without a deadline the call waits for the connection's keep-alive, then fails over.
            var unavailable = await Assert.ThrowsAsync<EventStoreDbUnavailableException>(() =>
                store.AppendAsync("patient-3", ExpectedVersion.Exactly(0), events).WaitAsync(Patience.Deadline));
            Assert.Contains("defaultDeadline", unavailable.Message);
            Assert.Contains("patient-3", unavailable.Message);

            await Patience.UntilAsync(async () =>
            {
                try
                {
                    await store.AppendAsync("patient-3", ExpectedVersion.Exactly(0), events);
                    return true;
                }
                catch (EventStoreDbException e) when (e is EventStoreDbUnavailableException or EventStoreDbNotLeaderException)
                {
                    return false; // the election is not over yet
                }
            }, () => "the append never landed on a new leader:\n" + string.Join("\n", cluster.NodePorts.Select(p => cluster.LogTail(p, 5))));
            Assert.NotEqual(leader, store.CurrentNode.Port);

            var read = new List<EventEnvelope>();
            await foreach (var e in store.ReadStreamAsync("patient-3")) read.Add(e);
            Assert.Equal(first.Events.Select(e => e.EventId).Concat(events.Select(e => e.EventId)), read.Select(e => e.EventId));
        }
        finally
        {
            cluster.ResumeNode(leader);
        }
    }
}
