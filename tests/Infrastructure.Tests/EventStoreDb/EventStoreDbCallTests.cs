using System.Text;
using Grpc.Core;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>
/// The adapter's own logic on the gRPC calls — what it sends, redirection to the leader, error mapping, resuming a
/// dropped subscription — against scripted replies (<see cref="ScriptedCalls"/>), not a server.
/// </summary>
public sealed class EventStoreDbCallTests
{
    private static ProposedEvent NewEvent(string data = "{\"n\":1}") =>
        new(Guid.NewGuid(), "RecordEntryAdded", Encoding.UTF8.GetBytes(data), "{\"actor\":\"p-1\"}"u8.ToArray());

    [Fact]
    public async Task An_append_is_one_call_of_linked_events_with_the_exact_expected_revision()
    {
        var calls = new ScriptedCalls();
        await using var store = calls.Store();
        var events = new[] { NewEvent(), NewEvent("{\"n\":2}") };

        var result = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, events);

        var append = Assert.Single(calls.Appends);
        Assert.Empty(calls.Reads);
        Assert.Equal("patient-1", append.Stream);
        Assert.Equal(AppendReq.Types.Options.ExpectedStreamRevisionOneofCase.NoStream, append.Options.ExpectedStreamRevisionCase);
        // the server knows each event by a hash of all of it; our id travels in the envelope
        Assert.Equal(result.Events.Select(e => EventStoreDbEnvelope.ServerId(e.Hash, null).ToString("D")), append.Events.Select(m => m.Id.String));
        Assert.Equal(events.Select(e => (Guid?)e.EventId), append.Events.Select(m => EventStoreDbEnvelope.TryDecodeWrapper(m.CustomMetadata.Span)?.EventId));
        Assert.Equal(events.Select(e => e.Data), append.Events.Select(m => m.Data.ToByteArray()));
        Assert.Equal([0L, 1L], result.Events.Select(e => e.Version));
        Assert.Equal("true", append.Headers.GetValue("requires-leader"));
        Assert.Equal(1, store.ServerCalls);

        // the head is known now: the next append needs no read and expects revision 1
        await store.AppendAsync("patient-1", ExpectedVersion.Exactly(1), [NewEvent()]);
        Assert.Empty(calls.Reads);
        Assert.Equal(1UL, calls.Appends.Last().Options.Revision);
        Assert.Equal(2, store.ServerCalls);
    }

    /// <summary>
    /// Read-your-writes on a server whose stream reads carry no $all position: the append's reply gives the last
    /// event's, and the store's read of that very stream's end carries it; another event at the end carries none.
    /// </summary>
    [Fact]
    public async Task The_appends_reply_position_is_the_last_events_and_fills_a_positionless_read_of_it()
    {
        var calls = new ScriptedCalls();
        AppendReq.Types.ProposedMessage? last = null;
        calls.OnAppend = a =>
        {
            last = a.Events[^1];
            return new AppendResp { Success = new AppendResp.Types.Success
            {
                CurrentRevision = 1, Position = new AppendResp.Types.Position { CommitPosition = 900, PreparePosition = 880 },
            } };
        };
        calls.OnRead = _ => [ScriptedCalls.Recorded(last!, "patient-1", 1, position: null)];
        await using var store = calls.Store();

        var result = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent(), NewEvent("{\"n\":2}")]);
        var read = await store.ReadLastAsync("patient-1");

        Assert.Null(result.Events[0].Position); // the reply names the last event's place only
        Assert.Equal(new GlobalPosition(900, 880), result.Events[^1].Position);
        Assert.Equal(new GlobalPosition(900, 880), read?.Position);

        await using var other = calls.Store(); // knows no append of it: no position rather than a guess
        Assert.Null((await other.ReadLastAsync("patient-1"))?.Position);
    }

    [Fact]
    public async Task Wrong_expected_version_raises_the_ports_concurrency_error_with_the_actual_version()
    {
        var calls = new ScriptedCalls
        {
            OnAppend = _ => new AppendResp { WrongExpectedVersion = new AppendResp.Types.WrongExpectedVersion { CurrentRevision = 4, ExpectedNoStream = new Empty() } },
            OnRead = r => [StoredAt(r, 0)], // another transaction's event right after the expectation
        };
        await using var store = calls.Store();

        var ex = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]));

        Assert.Equal("patient-1", ex.StreamId);
        Assert.True(ex.Expected.IsNoStream);
        Assert.Equal(4, ex.ActualLastVersion);
    }

    [Fact]
    public async Task Any_reads_the_stream_and_appends_after_its_head_again_after_losing_a_race()
    {
        var heads = new Queue<ulong>([2, 5]);
        var attempts = 0;
        var calls = new ScriptedCalls
        {
            OnAppend = _ => ++attempts == 1
                ? new AppendResp { WrongExpectedVersion = new AppendResp.Types.WrongExpectedVersion { CurrentRevision = 5, ExpectedRevision = 2 } }
                : ScriptedCalls.Success(6),
        };
        calls.OnRead = r => HeadAt(r, heads.Dequeue());
        await using var store = calls.Store();

        var result = await store.AppendAsync("patient-1", ExpectedVersion.Any, [NewEvent()]);

        Assert.Equal(6, result.LastVersion);
        Assert.Equal([2UL, 5UL], calls.Appends.Select(a => a.Options.Revision));
        Assert.All(calls.Reads, r => Assert.Equal((ulong)long.MaxValue, r.Request.Options.Count)); // the whole stream: the ids may be anywhere
    }

    /// <summary>A backwards read from the end of the stream: its last event at <paramref name="revision"/>.</summary>
    private static IEnumerable<ReadResp> HeadAt(ScriptedCalls.ReadCallSeen read, ulong revision)
    {
        Assert.Equal(ReadReq.Types.Options.Types.ReadDirection.Backwards, read.Request.Options.ReadDirection);
        Assert.Equal(ReadReq.Types.Options.Types.UUIDOption.ContentOneofCase.String, read.Request.Options.UuidOption.ContentCase);
        var stream = read.Request.Options.Stream.StreamIdentifier.StreamName.ToStringUtf8();
        var linked = HealthEvents.Application.Ledger.HashChain.Link(stream, (long)revision - 1, new byte[32], [NewEvent()], null)[0];
        yield return ScriptedCalls.Recorded(EventStoreDbEnvelope.ToProposedMessage(linked, null), stream, revision, null);
    }

    [Fact]
    public async Task Not_leader_reconnects_to_the_named_leader_and_retries_once()
    {
        var calls = new ScriptedCalls
        {
            OnAppend = a => a.Node.Host == "node-a"
                ? throw ScriptedCalls.Error(StatusCode.NotFound, ("exception", "not-leader"), ("leader-endpoint-host", "node-b"), ("leader-endpoint-port", "2114"))
                : ScriptedCalls.Success(0),
        };
        await using var store = calls.Store("esdb://node-a:2113?tls=false");
        var e = NewEvent();

        var result = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [e]);

        Assert.Equal(0, result.LastVersion);
        Assert.Equal(new Uri("http://node-b:2114"), store.CurrentNode);
        var onLeader = Assert.Single(calls.Appends, a => a.Node.Host == "node-b");
        Assert.Equal(calls.Appends.Single(a => a.Node.Host == "node-a").Events.Single(), onLeader.Events.Single()); // the same bytes

        // later calls go to the leader directly
        var before = calls.Appends.Count(a => a.Node.Host == "node-a");
        await store.AppendAsync("patient-1", ExpectedVersion.Exactly(0), [NewEvent()]);
        Assert.Equal(before, calls.Appends.Count(a => a.Node.Host == "node-a"));
    }

    [Fact]
    public async Task Nodes_naming_each_other_as_leader_end_in_an_error_not_a_loop()
    {
        var calls = new ScriptedCalls
        {
            OnAppend = a => throw ScriptedCalls.Error(StatusCode.NotFound,
                ("exception", "not-leader"), ("leader-endpoint-host", a.Node.Host == "node-a" ? "node-b" : "node-a"), ("leader-endpoint-port", "2113")),
        };
        await using var store = calls.Store("esdb://node-a:2113?tls=false&maxDiscoverAttempts=4&discoveryInterval=1");

        await Assert.ThrowsAsync<EventStoreDbNotLeaderException>(() => store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]));
        Assert.Equal(4, calls.Appends.Count);
    }

    [Fact]
    public async Task Deleted_stream_access_denied_and_oversized_appends_raise_clear_errors()
    {
        var failure = ScriptedCalls.Error(StatusCode.FailedPrecondition, ("exception", "stream-deleted"));
        var calls = new ScriptedCalls { OnAppend = _ => throw failure };
        await using var store = calls.Store();
        var secret = NewEvent("{\"diagnosis\":\"very private\"}");

        var deleted = await Assert.ThrowsAsync<EventStoreDbStreamDeletedException>(() => store.AppendAsync("patient-9", ExpectedVersion.NoStream, [secret]));
        Assert.Contains("patient-9", deleted.Message);
        Assert.DoesNotContain("private", deleted.ToString());

        failure = ScriptedCalls.Error(StatusCode.InvalidArgument, ("exception", "maximum-append-size-exceeded"), ("maximum-append-size", "1048576"));
        var tooLarge = await Assert.ThrowsAsync<EventStoreDbAppendTooLargeException>(() => store.AppendAsync("patient-9", ExpectedVersion.NoStream, [NewEvent()]));
        Assert.Contains("patient-9", tooLarge.Message);

        calls.OnRead = _ => throw ScriptedCalls.Error(StatusCode.PermissionDenied, ("exception", "access-denied"));
        var denied = await Assert.ThrowsAsync<EventStoreDbAccessDeniedException>(async () =>
        {
            await foreach (var _ in store.ReadStreamAsync("patient-9")) { }
        });
        Assert.Contains("patient-9", denied.Message);
    }

    /// <summary>
    /// The server says the stream is past the expectation: the events right after it are read. Ours there with the
    /// same bytes are a replay (the stored events, positions included); ours with other bytes a duplicate id; another
    /// transaction's a wrong expected version. Nothing is appended again.
    /// </summary>
    [Fact]
    public async Task Past_the_expectation_the_events_after_it_decide_replay_duplicate_or_conflict()
    {
        var e = NewEvent();
        AppendReq.Types.ProposedMessage? sent = null;
        var calls = new ScriptedCalls
        {
            OnAppend = a =>
            {
                sent ??= a.Events[0];
                return new AppendResp { WrongExpectedVersion = new AppendResp.Types.WrongExpectedVersion { CurrentRevision = 3, ExpectedNoStream = new Empty() } };
            },
        };
        calls.OnRead = r =>
        {
            Assert.Equal(0UL, r.Request.Options.Stream.Revision); // right after the expectation
            Assert.Equal(1UL, r.Request.Options.Count);
            return [ScriptedCalls.Recorded(sent!, "patient-1", 0, position: 640)];
        };
        await using var store = calls.Store();

        var replay = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [e]);
        Assert.Equal(e.EventId, Assert.Single(replay.Events).EventId);
        Assert.Equal(new GlobalPosition(640, 640), replay.Events[0].Position);

        var duplicate = await Assert.ThrowsAsync<DuplicateEventIdException>(
            () => store.AppendAsync("patient-1", ExpectedVersion.NoStream, [e with { Data = "{\"n\":9}"u8.ToArray() }]));
        Assert.Equal(e.EventId, duplicate.EventId);

        var conflict = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]));
        Assert.Equal(3, conflict.ActualLastVersion);
        Assert.Equal(3, calls.Appends.Count);
    }

    /// <summary>An event of another transaction stored at <paramref name="revision"/> of the stream read.</summary>
    private static ReadResp StoredAt(ScriptedCalls.ReadCallSeen read, ulong revision)
    {
        var stream = read.Request.Options.Stream.StreamIdentifier.StreamName.ToStringUtf8();
        var linked = HealthEvents.Application.Ledger.HashChain.Link(stream, (long)revision - 1, new byte[32], [NewEvent()], null)[0];
        return ScriptedCalls.Recorded(EventStoreDbEnvelope.ToProposedMessage(linked, null), stream, revision, null);
    }

    // ------------------------------------------------------------------ global log

    private static IReadOnlyList<(ReadResp Reply, EventEnvelope Envelope)> LogEvents(params ulong[] positions) =>
        positions.Select((p, i) =>
        {
            var linked = HealthEvents.Application.Ledger.HashChain.Link($"patient-{i}", -1, new byte[32], [NewEvent()], null)[0];
            return (ScriptedCalls.Recorded(EventStoreDbEnvelope.ToProposedMessage(linked, null), linked.StreamId, 0, p), linked);
        }).ToList();

    [Fact]
    public async Task ReadAll_is_strictly_after_the_position_and_skips_what_is_not_ours()
    {
        var log = LogEvents(100, 200, 300);
        var calls = new ScriptedCalls
        {
            // the server reads from a position inclusively
            OnRead = r => new[] { log[0].Reply, ScriptedCalls.SystemEvent(150), log[1].Reply, log[2].Reply }
                .Where(x => r.Request.Options.All.AllOptionCase == ReadReq.Types.Options.Types.AllOptions.AllOptionOneofCase.Start
                            || x.Event.CommitPosition >= r.Request.Options.All.Position.CommitPosition),
        };
        await using var store = calls.Store();

        var all = await store.ReadAllAsync(null, 10);
        var after = await store.ReadAllAsync(new GlobalPosition(100, 100), 10);
        var one = await store.ReadAllAsync(new GlobalPosition(100, 100), 1);

        Assert.Equal(log.Select(l => l.Envelope.EventId), all.Select(e => e.EventId));
        Assert.Equal([new GlobalPosition(100, 100), new GlobalPosition(200, 200), new GlobalPosition(300, 300)], all.Select(e => e.Position!.Value));
        Assert.Equal(log.Skip(1).Select(l => l.Envelope.EventId), after.Select(e => e.EventId));
        Assert.Equal(log[1].Envelope.EventId, Assert.Single(one).EventId);
        Assert.Equal(ReadReq.Types.Options.Types.ReadDirection.Forwards, calls.Reads.Last().Request.Options.ReadDirection);
        // the server filters: every stream not starting with '$' (no prefix here)
        Assert.All(calls.Reads, r => Assert.Equal("^[^$]", r.Request.Options.Filter.StreamIdentifier.Regex));
    }

    [Fact]
    public async Task A_dropped_subscription_resumes_strictly_after_the_last_position_it_saw()
    {
        var log = LogEvents(100, 200, 300, 400);
        var subscriptions = 0;
        var calls = new ScriptedCalls
        {
            OnRead = r =>
            {
                Assert.Equal(ReadReq.Types.Options.CountOptionOneofCase.Subscription, r.Request.Options.CountOptionCase);
                return ++subscriptions switch
                {
                    1 => Replies(null, log[0].Reply, ScriptedCalls.SystemEvent(150), log[1].Reply, Drop(StatusCode.Unavailable)),
                    2 => Replies(null, Drop(StatusCode.Unavailable)), // the node is still down
                    _ => Replies(r.Request.Options.All.Position.CommitPosition, log[1].Reply, log[2].Reply, log[3].Reply, null),
                };
            },
        };
        await using var store = calls.Store(options: new EventStoreDbStoreOptions { ReconnectDelay = TimeSpan.FromMilliseconds(5) });
        using var cts = new CancellationTokenSource(HealthEvents.TestSupport.Patience.Deadline);

        var received = new List<EventEnvelope>();
        await foreach (var e in store.SubscribeAllAsync(null, cts.Token))
        {
            received.Add(e);
            if (received.Count == 4) break;
        }

        Assert.Equal(log.Select(l => l.Envelope.EventId), received.Select(e => e.EventId));
        var requests = calls.Reads.Select(r => r.Request.Options.All).ToList();
        Assert.Equal(ReadReq.Types.Options.Types.AllOptions.AllOptionOneofCase.Start, requests[0].AllOptionCase);
        Assert.Equal(200UL, requests[1].Position.CommitPosition);
        Assert.Equal(200UL, requests[2].Position.CommitPosition);
        Assert.Equal(200UL, requests[2].Position.PreparePosition);
    }

    private static ReadResp Drop(StatusCode code) => new() { Checkpoint = new ReadResp.Types.Checkpoint { CommitPosition = (ulong)code } }; // marker

    /// <summary>A confirmation, then the replies; a Drop marker throws that status; a null reply waits until cancelled.</summary>
    private static IEnumerable<ReadResp?> Replies(ulong? from, params ReadResp?[] replies)
    {
        yield return new ReadResp { Confirmation = new ReadResp.Types.SubscriptionConfirmation { SubscriptionId = "s" } };
        foreach (var r in replies)
        {
            if (r?.ContentCase == ReadResp.ContentOneofCase.Checkpoint && r.Checkpoint.CommitPosition < 100)
                throw new RpcException(new Status((StatusCode)r.Checkpoint.CommitPosition, "connection dropped"));
            if (from is { } f && r?.Event is { } e && e.CommitPosition < f) continue; // the server resumes inclusively
            yield return r;
        }
    }

    [Fact]
    public async Task A_subscription_ends_on_a_refusal_and_on_cancellation()
    {
        var calls = new ScriptedCalls { OnRead = _ => throw ScriptedCalls.Error(StatusCode.PermissionDenied, ("exception", "access-denied")) };
        await using var store = calls.Store();
        await Assert.ThrowsAsync<EventStoreDbAccessDeniedException>(async () =>
        {
            await foreach (var _ in store.SubscribeAllAsync(null)) { }
        });

        calls.OnRead = _ => Replies(null, (ReadResp?)null);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in store.SubscribeAllAsync(null, cts.Token)) { }
        });
    }

    [Fact]
    public async Task Health_is_a_short_read_of_the_end_of_the_log()
    {
        var calls = new ScriptedCalls { OnRead = _ => [ScriptedCalls.SystemEvent(10)] };
        await using var store = calls.Store();
        Assert.True(await store.IsHealthyAsync());
        var probe = calls.Reads.Single().Request.Options;
        Assert.Equal(ReadReq.Types.Options.Types.ReadDirection.Backwards, probe.ReadDirection);
        Assert.Equal(1UL, probe.Count);

        calls.OnRead = _ => throw ScriptedCalls.Error(StatusCode.Unavailable);
        Assert.False(await store.IsHealthyAsync());

        calls.OnRead = _ => Replies(null, (ReadResp?)null); // never answers
        await using var slow = calls.Store(options: new EventStoreDbStoreOptions { HealthTimeout = TimeSpan.FromMilliseconds(100) });
        Assert.False(await slow.IsHealthyAsync());
    }

    /// <summary>
    /// A filtered subscription's checkpoints say how far the server has looked; a subscription dropped after one resumes
    /// from it, not from its last event, and asks for the store's streams only (its prefix).
    /// </summary>
    [Fact]
    public async Task A_subscription_resumes_after_the_last_checkpoint_and_filters_by_the_prefix()
    {
        var log = LogEvents(100, 400).Select(l =>
        {
            var reply = l.Reply.Clone(); // on the server, the store's streams carry its prefix
            reply.Event.Event.StreamIdentifier = EventStoreDbEnvelope.Stream("t1-" + l.Envelope.StreamId);
            return (Reply: reply, l.Envelope);
        }).ToList();
        var subscriptions = 0;
        var calls = new ScriptedCalls
        {
            OnRead = r => ++subscriptions == 1
                ? Replies(null, log[0].Reply, new ReadResp { Checkpoint = new ReadResp.Types.Checkpoint { CommitPosition = 350, PreparePosition = 350 } }, Drop(StatusCode.Unavailable))
                : Replies(r.Request.Options.All.Position.CommitPosition, log[1].Reply, null),
        };
        await using var store = calls.Store(options: new EventStoreDbStoreOptions { ReconnectDelay = TimeSpan.FromMilliseconds(5), StreamPrefix = "t1-" });
        using var cts = new CancellationTokenSource(HealthEvents.TestSupport.Patience.Deadline);

        var received = new List<EventEnvelope>();
        await foreach (var e in store.SubscribeAllAsync(null, cts.Token))
        {
            received.Add(e);
            if (received.Count == 2) break;
        }

        Assert.Equal(log.Select(l => l.Envelope.EventId), received.Select(e => e.EventId));
        Assert.All(received, e => Assert.StartsWith("patient-", e.StreamId));
        var requests = calls.Reads.Select(r => r.Request.Options).ToList();
        Assert.Equal(350UL, requests[1].All.Position.CommitPosition);
        Assert.All(requests, o => Assert.Equal(["t1-"], o.Filter.StreamIdentifier.Prefix));
    }

    // ------------------------------------------------------------------ cluster

    private const MemberInfo.Types.VNodeState Leader = MemberInfo.Types.VNodeState.Leader;
    private const MemberInfo.Types.VNodeState Follower = MemberInfo.Types.VNodeState.Follower;
    private const MemberInfo.Types.VNodeState Lost = MemberInfo.Types.VNodeState.Unknown;

    /// <summary>
    /// Seeds' gossip names the leader, even one the connection string does not list; when the leader dies mid-append,
    /// the client finds the new one and sends the append again byte for byte with the same expected revision (what
    /// makes a lost acknowledgement harmless: EventStoreDB treats it as the same write).
    /// </summary>
    [Fact]
    public async Task Gossip_leads_to_the_leader_and_a_dead_leaders_append_is_sent_again_to_the_next()
    {
        var leader = "node-c";
        var calls = new ScriptedCalls
        {
            OnGossip = node => node.Host == "node-a"
                ? throw ScriptedCalls.Error(StatusCode.Unavailable) // a seed that is down
                : ScriptedCalls.Cluster(("node-a", 2113, Lost), ("node-b", 2113, leader == "node-b" ? Leader : Follower), ("node-c", 2113, leader == "node-c" ? Leader : Lost)),
        };
        calls.OnAppend = a => a.Node.Host == leader ? ScriptedCalls.Success((ulong)calls.Appends.Count(x => x.Node.Host == leader) - 1)
            : throw ScriptedCalls.Error(StatusCode.Unavailable);
        await using var store = calls.Store("esdb://node-a:2113,node-b:2113?tls=false&discoveryInterval=1");

        await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]);
        Assert.Equal(new Uri("http://node-c:2113"), store.CurrentNode);

        leader = "node-b"; // node-c dies; node-b is elected
        var second = await store.AppendAsync("patient-1", ExpectedVersion.Exactly(0), [NewEvent()]);

        Assert.Equal(1, second.LastVersion);
        Assert.Equal(new Uri("http://node-b:2113"), store.CurrentNode);
        var tries = calls.Appends.Skip(1).ToList();
        Assert.Equal(["node-c", "node-b"], tries.Select(a => a.Node.Host));
        Assert.Equal(tries[0].Events, tries[1].Events);
        Assert.All(tries, a => Assert.Equal(0UL, a.Options.Revision));
    }

    [Fact]
    public async Task Without_a_leader_a_call_waits_out_its_attempts_and_fails_as_unavailable()
    {
        var calls = new ScriptedCalls { OnGossip = _ => ScriptedCalls.Cluster(("node-a", 2113, Follower), ("node-b", 2113, Follower)) };
        await using var store = calls.Store("esdb://node-a:2113,node-b:2113?tls=false&maxDiscoverAttempts=3&discoveryInterval=1");

        await Assert.ThrowsAsync<EventStoreDbUnavailableException>(() => store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]));
        Assert.Empty(calls.Appends);
        Assert.True(calls.Gossips.Count >= 3);

        var cluster = await store.ReadClusterAsync();
        Assert.NotNull(cluster);
        Assert.Null(cluster.Leader);
        Assert.Equal(["node-a:2113", "node-b:2113"], cluster.Members.Select(m => m.Endpoint));
        Assert.All(cluster.Members, m => Assert.Equal("Follower", m.State));
    }
}
