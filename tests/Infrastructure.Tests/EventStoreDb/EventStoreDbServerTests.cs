using System.Net.Sockets;
using System.Text;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;
using HealthEvents.TestSupport;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>
/// The adapter against what the real server (HEALTHEVENTS_ESDB) answers beyond the conformance suite: refusals — a
/// deleted stream, an append over the server's size limit — as clear errors naming the stream and never the data;
/// events in our streams that HealthEvents did not write, left out of the global log; no server, not healthy. Each
/// test works under a stream prefix of its own.
/// </summary>
public sealed class EventStoreDbServerTests : IAsyncLifetime
{
    private const string Secret = "very private diagnosis";
    private readonly string _prefix = $"s{Guid.NewGuid():N}"[..13] + "-";
    private readonly List<IAsyncDisposable> _owned = [];

    private static EventStoreDbSettings Server()
    {
        var connectionString = Environment.GetEnvironmentVariable(EventStoreDbUnderTest.Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), EventStoreDbUnderTest.SkipReason);
        return EventStoreDbSettings.Parse(connectionString!);
    }

    private EventStoreDbEventStore NewStore(EventStoreDbSettings settings, EventStoreDbStoreOptions? options = null)
    {
        var store = new EventStoreDbEventStore(settings, options ?? new EventStoreDbStoreOptions { StreamPrefix = _prefix });
        _owned.Add(store);
        return store;
    }

    private static ProposedEvent NewEvent(string data = $"{{\"text\":\"{Secret}\"}}") =>
        new(Guid.NewGuid(), "RecordEntryAdded", Encoding.UTF8.GetBytes(data), "{\"actor\":\"p-1\"}"u8.ToArray());

    /// <summary>
    /// A stream deleted for good (a tombstone, as an operator's hard delete leaves it; through the server's HTTP API,
    /// which the adapter never uses) is what the port calls a cut stream: reads serve none of it (as after a soft delete),
    /// while the global log still holds its events, and an append is refused as a damaged stream
    /// (<see cref="DamagedStreamException"/> at version 0, the server's error inside) — never the server's own error,
    /// which no caller of the port knows. No message carries event data.
    /// </summary>
    [SkippableFact]
    public async Task A_deleted_stream_serves_nothing_and_refuses_appends_as_a_damaged_stream_naming_it_and_no_data()
    {
        var settings = Server();
        var store = NewStore(settings);
        await store.AppendAsync("patient-9", ExpectedVersion.NoStream, [NewEvent()]);
        await HardDeleteAsync(settings, _prefix + "patient-9");

        // The store's cached head still says version 0: the append goes to the server, which refuses it.
        var append = await Assert.ThrowsAsync<DamagedStreamException>(
            () => store.AppendAsync("patient-9", ExpectedVersion.Exactly(0), [NewEvent()]));
        Assert.Equal(("patient-9", 0L), (append.StreamId, append.Version));
        Assert.IsType<EventStoreDbStreamDeletedException>(append.InnerException);
        Assert.DoesNotContain(Secret, append.ToString());
        var again = await Assert.ThrowsAsync<DamagedStreamException>(() => store.AppendAsync("patient-9", ExpectedVersion.NoStream, [NewEvent()]));
        Assert.Equal("patient-9", again.StreamId);
        await Assert.ThrowsAsync<DamagedStreamException>(() => store.AppendAsync("patient-9", ExpectedVersion.Any, [NewEvent()]));

        // A store that never saw the stream (no cached head) reads it: nothing is served, from any end.
        var other = NewStore(settings);
        Assert.Empty(await other.ReadStreamAsync("patient-9").ToListAsync());
        Assert.Null(await other.ReadFirstAsync("patient-9"));
        Assert.Null(await other.ReadLastAsync("patient-9"));

        // The tombstone the server wrote into the stream is not one of our events: the global log holds ours only.
        var log = await other.ReadAllAsync(null, 100);
        Assert.Equal(["patient-9"], log.Select(e => e.StreamId));
    }

    /// <summary>
    /// A soft-deleted stream (<c>DELETE /streams/{name}</c> without <c>ES-HardDelete</c>) serves nothing, so a store that
    /// reads it finds no head and appends with no-stream — which EventStoreDB takes as recreating the stream: it stores
    /// the event at the revision after the deleted ones. The adapter linked it as version 0 (zero prevHash, its hash over
    /// version 0) and reports it stored at version 0, while the server holds it at version 1 under a hash that does not
    /// match: the receipt names the wrong version and the store wrote a broken chain itself. An append must land where
    /// the store says it did, or be refused (the stream's history is hidden, not absent: a damaged stream).
    /// </summary>
    [SkippableFact]
    public async Task A_no_stream_append_to_a_soft_deleted_stream_is_not_reported_at_a_version_it_did_not_land_at()
    {
        var settings = Server();
        var writer = NewStore(settings);
        await writer.AppendAsync("patient-8", ExpectedVersion.NoStream, [NewEvent()]);
        await SoftDeleteAsync(settings, _prefix + "patient-8");

        var store = NewStore(settings); // another node: nothing cached, it reads the stream
        Assert.Null(await store.ReadLastAsync("patient-8"));
        AppendResult? appended = null;
        try
        {
            appended = await store.AppendAsync("patient-8", ExpectedVersion.NoStream, [NewEvent()]);
        }
        catch (Exception e) when (e is DamagedStreamException or WrongExpectedVersionException)
        {
            // refused: what the port promises for a stream it cannot extend
        }

        // Every event the server serves from the stream now is intact where it is, and any receipt names where it is.
        var served = await NewStore(settings).ReadStreamAsync("patient-8").ToListAsync();
        foreach (var e in served)
            Assert.True(HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash),
                $"version {e.Version} is stored with a hash that is not its own (receipt said version {appended?.Events[0].Version})");
        if (appended is not null) Assert.Equal(served[^1].Version, appended.Events[^1].Version);
    }

    /// <summary>A soft delete through the server's HTTP API (<c>DELETE /streams/{name}</c>): reads serve nothing, appends recreate it.</summary>
    private static async Task SoftDeleteAsync(EventStoreDbSettings settings, string serverStream)
    {
        using var http = new HttpClient { BaseAddress = settings.AddressOf(settings.Hosts[0]) };
        using var response = await http.DeleteAsync($"/streams/{Uri.EscapeDataString(serverStream)}");
        Assert.True(response.IsSuccessStatusCode, $"DELETE /streams answered {(int)response.StatusCode}");
    }

    /// <summary>
    /// Stores written before the envelope carried our event id (the server's id was ours then) are still read: such an
    /// event, stored on the server in that older form, reads with the server's id as its own and its hash link intact.
    /// </summary>
    [SkippableFact]
    public async Task An_event_stored_in_the_older_envelope_reads_with_the_servers_id_and_its_hash()
    {
        var settings = Server();
        var older = HashChain.Link("patient-5", -1, HashChain.Genesis, [NewEvent()], null)[0];
        await using (var client = new EventStoreDbClient(settings))
        {
            var message = new AppendReq.Types.ProposedMessage
            {
                Id = new UUID { String = older.EventId.ToString("D") },
                Metadata = { ["type"] = older.Type, ["content-type"] = "application/octet-stream" },
                Data = Google.Protobuf.ByteString.CopyFrom(older.Data),
                CustomMetadata = Google.Protobuf.ByteString.CopyFromUtf8(
                    $"{{\"he\":1,\"m\":\"{Convert.ToBase64String(older.Metadata)}\",\"p\":\"{Convert.ToBase64String(older.PrevHash)}\",\"h\":\"{Convert.ToBase64String(older.Hash)}\"}}"),
            };
            var reply = await client.AppendAsync(_prefix + "patient-5", o => o.NoStream = new Empty(), [message], CancellationToken.None);
            Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
        }

        var read = Assert.Single(await ReadAsync(NewStore(settings), "patient-5"));

        Assert.Equal(older.EventId, read.EventId);
        Assert.Equal(older.Hash, read.Hash);
        Assert.Equal(HashChain.ComputeHash(read), read.Hash);
    }

    private static async Task<List<EventEnvelope>> ReadAsync(IEventStore store, string stream)
    {
        var events = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(stream)) events.Add(e);
        return events;
    }

    /// <summary>
    /// An append larger than the server's maximum append size (1 MiB by default) is refused whole, as
    /// <see cref="EventStoreDbAppendTooLargeException"/> with the server's limit and the stream, and writes nothing.
    /// </summary>
    [SkippableFact]
    public async Task An_append_over_the_servers_size_limit_is_refused_whole_naming_the_stream_and_the_limit()
    {
        var store = NewStore(Server());
        var large = NewEvent($"{{\"text\":\"{Secret}\",\"scan\":\"{new string('x', 1_200_000)}\"}}");

        var refused = await Assert.ThrowsAsync<EventStoreDbAppendTooLargeException>(
            () => store.AppendAsync("patient-7", ExpectedVersion.NoStream, [NewEvent(), large]));

        Assert.Contains("patient-7", refused.Message);
        Assert.True(refused.MaximumBytes is > 0 and < 1_200_000, $"the server's limit as it reported it: {refused.MaximumBytes}");
        Assert.DoesNotContain(Secret, refused.ToString());
        Assert.Null(await store.ReadLastAsync("patient-7"));
    }

    /// <summary>
    /// Someone with write access to the server may put events without our envelope into our streams (any client can),
    /// under any type — one of the server's reserved '$' names (<c>$&gt;</c>, a link) included. The streams hold them, so
    /// the global log and the subscription carry them too — as stored, with no link and no hash, so verification reports
    /// them — while another application's stream on the same server stays out.
    /// </summary>
    [SkippableFact]
    public async Task Events_in_our_streams_that_HealthEvents_did_not_write_are_in_the_global_log_and_fail_the_chain()
    {
        var settings = Server();
        var store = NewStore(settings);
        var before = await store.AppendAsync("patient-1", ExpectedVersion.NoStream, [NewEvent()]);
        var origin = before.Events[^1].Position;
        AppendReq.Types.ProposedMessage Foreign(string type = "SomethingElse") => new()
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { ["type"] = type, ["content-type"] = "application/json" },
            Data = Google.Protobuf.ByteString.CopyFromUtf8("{\"not\":\"ours\"}"),
        };
        await using (var client = new EventStoreDbClient(settings))
        {
            var reply = await client.AppendAsync(_prefix + "patient-2", o => o.NoStream = new Empty(), [Foreign(), Foreign("$>")], CancellationToken.None);
            Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
            var elsewhere = await client.AppendAsync("other-app-" + Guid.NewGuid().ToString("N"), o => o.NoStream = new Empty(), [Foreign()], CancellationToken.None);
            Assert.Equal(AppendResp.ResultOneofCase.Success, elsewhere.ResultCase);
        }
        var after = await store.AppendAsync("patient-3", ExpectedVersion.NoStream, [NewEvent(), NewEvent()]);

        var log = await store.ReadAllAsync(origin, 10);
        Assert.Equal(["patient-2@0", "patient-2@1", "patient-3@0", "patient-3@1"], log.Select(e => $"{e.StreamId}@{e.Version}"));
        Assert.Equal("$>", log[1].Type);
        Assert.Equal(after.Events.Select(e => e.EventId), log.Skip(2).Select(e => e.EventId));
        var report = StreamVerifier.Verify(await store.ReadStreamAsync("patient-2").ToListAsync());
        Assert.Equal(0, report.FirstBrokenVersion);

        using var cts = new CancellationTokenSource(Patience.Deadline);
        var received = new List<string>();
        await foreach (var e in store.SubscribeAllAsync(origin, cts.Token))
        {
            received.Add($"{e.StreamId}@{e.Version}");
            if (received.Count == 4) break;
        }
        Assert.Equal(["patient-2@0", "patient-2@1", "patient-3@0", "patient-3@1"], received);
    }

    /// <summary>Where no server listens, the store is not healthy and reports no cluster, within its health timeout.</summary>
    [Fact]
    public async Task Where_no_server_answers_the_store_is_not_healthy_and_reports_no_cluster()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // a port just free: nothing listens there now
        var store = NewStore(EventStoreDbSettings.Parse($"esdb://127.0.0.1:{port}?tls=false"));

        Assert.False(await store.IsHealthyAsync());
        Assert.Null(await store.ReadClusterAsync());
    }

    /// <summary>
    /// A hard delete through the server's HTTP API (<c>DELETE /streams/{name}</c> with <c>ES-HardDelete: true</c>):
    /// the shared distribution serves it; the official image needs <c>EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP=true</c>.
    /// </summary>
    private static async Task HardDeleteAsync(EventStoreDbSettings settings, string serverStream)
    {
        using var http = new HttpClient { BaseAddress = settings.AddressOf(settings.Hosts[0]) };
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/streams/{Uri.EscapeDataString(serverStream)}")
        {
            Headers = { { "ES-HardDelete", "true" } },
        };
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode,
            $"DELETE /streams answered {(int)response.StatusCode}: the server's HTTP API must be on (EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP=true)");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _owned) await d.DisposeAsync();
    }
}
