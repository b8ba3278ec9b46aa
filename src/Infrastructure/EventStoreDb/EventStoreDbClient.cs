using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// The gRPC side of the adapter: one channel per node, the node calls go to (the leader), and the calls (Append,
/// Read, gossip) with EventStoreDB's cluster rules applied. Every call asks for the leader (<c>requires-leader</c>).
/// A not-leader answer naming the leader sends the call there at once; one naming none (an election), or a node
/// that cannot be reached, makes the client forget that node, wait <see cref="EventStoreDbSettings.DiscoveryInterval"/>
/// and find the leader again from gossip (<see cref="EventStoreDbGossip"/>; a single host without discovery is simply
/// tried again), up to <see cref="EventStoreDbSettings.MaxDiscoverAttempts"/> times before the call fails as
/// unavailable. Retrying is safe for every call the adapter makes: reads change nothing, and an append is sent again
/// byte for byte with the same expected revision, which EventStoreDB makes idempotent — an append whose
/// acknowledgement was lost with its node is stored once. One gRPC channel (HTTP/2 connections) per address.
/// <para>
/// Each call has a deadline (<see cref="EventStoreDbSettings.DefaultDeadline"/>): an append must be answered, a read
/// must bring each next reply, within it. A call past it went to a node that stopped answering without closing its
/// connections (frozen, or cut off): it is not sent again now — waiting out a node that may never answer is what the
/// deadline ends — but the node is forgotten, so the next call finds the leader again, and the call fails as
/// <see cref="EventStoreDbUnavailableException"/> (the API's 503 with Retry-After). An append so abandoned may have
/// landed; its retry (the same ids after the same revision, or the command path's look for its first event) stores it once.
/// </para>
/// </summary>
internal sealed class EventStoreDbClient : IAsyncDisposable
{
    private readonly EventStoreDbSettings _settings;
    private readonly ConcurrentDictionary<Uri, CallInvoker> _invokers = new();
    private readonly ConcurrentBag<GrpcChannel> _channels = [];
    private readonly Metadata _headers;
    private readonly EventStoreDbGossip _gossip;
    private readonly Lock _switch = new();
    private Uri? _current;
    private long _calls;

    public EventStoreDbClient(EventStoreDbSettings settings)
    {
        _settings = settings;
        _current = settings.Discover ? null : settings.AddressOf(settings.Hosts[0]);
        _headers = new Metadata { { "requires-leader", "true" } };
        if (settings.UserName is not null)
            _headers.Add("authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.UserName}:{settings.Password}")));
        _gossip = new EventStoreDbGossip(settings, InvokerFor, ct => Options(ct));
    }

    /// <summary>The node calls go to now (before discovery, or while none is known: the first host).</summary>
    public Uri Current
    {
        get { lock (_switch) return _current ?? _settings.AddressOf(_settings.Hosts[0]); }
    }

    /// <summary>Server round trips so far: every Append, Read and gossip request sent, retries included.</summary>
    public long Calls => Interlocked.Read(ref _calls) + _gossip.Calls;

    private CallInvoker InvokerFor(Uri address) => _invokers.GetOrAdd(address, CreateChannelInvoker);

    private Streams.StreamsClient ClientFor(Uri address) => new(InvokerFor(address));

    private CallInvoker CreateChannelInvoker(Uri address)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        if (!_settings.VerifyServerCertificate) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        });
        _channels.Add(channel);
        return channel.CreateCallInvoker();
    }

    /// <summary>The node to call: the current one, else the leader gossip names now (null: none yet).</summary>
    private async Task<Uri?> NodeAsync(CancellationToken ct)
    {
        lock (_switch)
            if (_current is { } known) return known;
        var leader = await _gossip.FindLeaderAsync(ct);
        if (leader is null) return null;
        lock (_switch) return _current ??= leader;
    }

    private void MoveTo(Uri from, Uri to)
    {
        lock (_switch)
            if (_current is null || _current == from) _current = to;
    }

    /// <summary>A node failed (unreachable, or no longer leading): the next call finds the leader again. A single host stays.</summary>
    public void Forget(Uri node)
    {
        if (!_settings.Discover) return;
        lock (_switch)
            if (_current == node) _current = null;
    }

    /// <summary>The cluster as gossip sees it: from the current node, else from the seeds in turn; null when none answers.</summary>
    public async Task<EventStoreDbCluster?> ReadClusterAsync(CancellationToken ct)
    {
        var current = Current;
        var nodes = _settings.Hosts.Where(h => _settings.AddressOf(h) != current).Prepend(new DnsEndPoint(current.Host, current.Port));
        foreach (var node in nodes)
        {
            try
            {
                return await _gossip.ReadAsync(node, ct);
            }
            catch (RpcException) when (!ct.IsCancellationRequested)
            {
                // not this one: ask the next
            }
        }
        return null;
    }

    /// <summary>
    /// Runs <paramref name="call"/> on the leader, retrying through not-leader answers and unreachable nodes as the
    /// class describes. A refusal (deleted stream, access denied, too large) is raised at once, mapped
    /// (<see cref="EventStoreDbErrors.Map"/>); so is the last transient failure once the attempts are spent.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Streams.StreamsClient, CallOptions, Uri, Task<T>> call, string? streamId, CancellationToken ct)
    {
        RpcException? last = null;
        for (var attempt = 1; attempt <= _settings.MaxDiscoverAttempts; attempt++)
        {
            if (await NodeAsync(ct) is { } address)
            {
                try
                {
                    Interlocked.Increment(ref _calls);
                    return await call(ClientFor(address), Options(ct), address);
                }
                catch (RpcException e) when (IsOwnCancellation(e, ct))
                {
                    throw new OperationCanceledException(ct);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
                {
                    Forget(address);
                    throw PastDeadline(address, streamId, e);
                }
                catch (RpcException e) when (EventStoreDbErrors.IsNotLeader(e, out var leader))
                {
                    last = e;
                    if (leader is not null)
                    {
                        MoveTo(address, _settings.AddressOf(leader));
                        continue; // the node named the leader: go there now
                    }
                    Forget(address);
                }
                catch (RpcException e) when (EventStoreDbErrors.IsTransient(e))
                {
                    last = e;
                    Forget(address);
                }
                catch (RpcException e)
                {
                    throw EventStoreDbErrors.Map(e, streamId);
                }
            }
            if (attempt < _settings.MaxDiscoverAttempts) await Task.Delay(_settings.DiscoveryInterval, ct);
        }
        throw last is null
            ? new EventStoreDbUnavailableException($"No EventStoreDB leader was found from {_settings} after {_settings.MaxDiscoverAttempts} attempts.")
            : EventStoreDbErrors.Map(last, streamId);
    }

    private static bool IsOwnCancellation(RpcException e, CancellationToken ct) =>
        e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested;

    /// <summary>A call the node left unanswered past its deadline: unavailable, naming the node and the stream, never data.</summary>
    internal EventStoreDbUnavailableException PastDeadline(Uri node, string? streamId, Exception? inner) => new(
        $"EventStoreDB at {node.Authority} did not answer on {(streamId is null ? "the global log ($all)" : $"stream {streamId}")} within " +
        $"{_settings.DefaultDeadline.TotalMilliseconds:0} ms (defaultDeadline); the leader is looked for again on the next call. " +
        "An append may or may not have been written (a retry with the same event ids is safe).", inner);

    public CallOptions Options(CancellationToken ct, DateTime? deadline = null) => new(_headers, deadline, ct);

    /// <summary>
    /// One append to the server's stream <paramref name="streamId"/>: the options message, then each event, then the
    /// reply. Errors name <paramref name="nameInErrors"/> (the caller's name for the stream, without a store's prefix)
    /// when given, else <paramref name="streamId"/>.
    /// </summary>
    public Task<AppendResp> AppendAsync(
        string streamId, Action<AppendReq.Types.Options> expectation, IReadOnlyList<AppendReq.Types.ProposedMessage> messages,
        CancellationToken ct, string? nameInErrors = null) =>
        RunAsync(async (client, options, _) =>
        {
            using var call = client.Append(options.WithDeadline(DateTime.UtcNow + _settings.DefaultDeadline));
            var header = new AppendReq.Types.Options { StreamIdentifier = EventStoreDbEnvelope.Stream(streamId) };
            expectation(header);
            try
            {
                await call.RequestStream.WriteAsync(new AppendReq { Options = header }, ct);
                foreach (var m in messages) await call.RequestStream.WriteAsync(new AppendReq { ProposedMessage = m }, ct);
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception e) when ((e is RpcException or InvalidOperationException) && !ct.IsCancellationRequested)
            {
                // The server ended the call before taking all events (not-leader, refused): its status says why, below.
            }
            return await call.ResponseAsync;
        }, nameInErrors ?? streamId, ct);

    /// <summary>
    /// Starts a read and waits for its first reply (where a not-leader answer, or any refusal, shows), so the
    /// retry on the leader happens before the caller has seen anything. Null reply: the read is already complete.
    /// The first reply must come within <see cref="EventStoreDbSettings.DefaultDeadline"/>, and so must each next one
    /// unless <paramref name="subscription"/> (which waits for new events as long as it takes).
    /// </summary>
    public Task<ReadCall> ReadAsync(ReadReq request, string? streamId, CancellationToken ct, DateTime? deadline = null, bool subscription = false) =>
        RunAsync(async (client, options, node) =>
        {
            // Cancelled by the caller, or by the deadline's timer when the node goes quiet (which ends the call).
            var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var call = client.Read(request, (deadline is null ? options : options.WithDeadline(deadline.Value)).WithCancellationToken(quiet.Token));
            try
            {
                quiet.CancelAfter(_settings.DefaultDeadline);
                var first = await call.ResponseStream.MoveNext(quiet.Token) ? call.ResponseStream.Current : null;
                quiet.CancelAfter(Timeout.InfiniteTimeSpan);
                return new ReadCall(call, first, streamId, ct, this, node, quiet, subscription ? null : _settings.DefaultDeadline);
            }
            catch (RpcException e) when (EventStoreDbErrors.IsStreamNotFound(e))
            {
                Dispose(call, quiet);
                return new ReadCall(null, null, streamId, ct, this, node); // the stream does not exist: nothing to read
            }
            catch (Exception e) when (ReadCall.WentQuiet(e, quiet, ct))
            {
                Dispose(call, quiet);
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "No first reply within the deadline."));
            }
            catch
            {
                Dispose(call, quiet);
                throw;
            }
        }, streamId, ct);

    private static void Dispose(IDisposable call, CancellationTokenSource quiet)
    {
        call.Dispose();
        quiet.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            await channel.ShutdownAsync();
            channel.Dispose();
        }
    }
}

/// <summary>
/// A started read: its replies in order, the first already received. A failure while reading on is raised
/// mapped (<see cref="EventStoreDbErrors.Map"/>), the gRPC error as its inner exception; a transient one (the node
/// died, or stopped leading) also makes the client find the leader again for the next call. With a
/// <paramref name="deadline"/>, each next reply not already received must arrive within it (the timer runs only while
/// the reader waits, never while it works on a reply): past it the node is taken for frozen, forgotten, and the read
/// fails as unavailable.
/// </summary>
internal sealed class ReadCall(
    AsyncServerStreamingCall<ReadResp>? call, ReadResp? first, string? streamId, CancellationToken ct, EventStoreDbClient? client = null, Uri? node = null,
    CancellationTokenSource? quiet = null, TimeSpan? deadline = null)
    : IDisposable
{
    private ReadResp? _first = first;
    private bool _done = first is null;

    /// <summary>The next reply, or null at the end.</summary>
    public async ValueTask<ReadResp?> NextAsync()
    {
        if (_first is not null)
        {
            var f = _first;
            _first = null;
            return f;
        }
        if (_done || call is null) return null;
        try
        {
            var next = call.ResponseStream.MoveNext(quiet?.Token ?? ct);
            // Replies already buffered complete at once: the timer is armed only for a real wait.
            if (!next.IsCompleted && deadline is { } d && quiet is not null)
            {
                quiet.CancelAfter(d);
                try { await next; }
                finally { quiet.CancelAfter(Timeout.InfiniteTimeSpan); }
            }
            if (await next) return call.ResponseStream.Current;
            _done = true;
            return null;
        }
        catch (Exception e) when (e is RpcException { StatusCode: StatusCode.Cancelled } or OperationCanceledException && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        catch (Exception e) when (quiet is not null && WentQuiet(e, quiet, ct))
        {
            if (node is not null) client?.Forget(node);
            throw client is not null && node is not null
                ? client.PastDeadline(node, streamId, e)
                : new EventStoreDbUnavailableException($"EventStoreDB did not answer on {streamId ?? "the global log ($all)"} within the deadline.", e);
        }
        catch (RpcException e)
        {
            if (node is not null && EventStoreDbErrors.IsTransient(e)) client?.Forget(node);
            throw EventStoreDbErrors.Map(e, streamId);
        }
    }

    /// <summary>Whether <paramref name="e"/> is the call ended by the deadline's timer (<paramref name="quiet"/>), not by the caller.</summary>
    internal static bool WentQuiet(Exception e, CancellationTokenSource quiet, CancellationToken ct) =>
        e is RpcException { StatusCode: StatusCode.Cancelled } or OperationCanceledException && quiet.IsCancellationRequested && !ct.IsCancellationRequested;

    public void Dispose()
    {
        call?.Dispose();
        quiet?.Dispose();
    }
}
