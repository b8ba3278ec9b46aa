using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// The gRPC side of the adapter: one channel per node, the node currently used, and the two calls (Append,
/// Read) with EventStoreDB's cluster rule applied: every call asks for the leader (<c>requires-leader</c>), and
/// a node answering not-leader with the leader's endpoint makes the call go there, once. An unreachable node
/// makes the next call try the next host of the connection string. Calls go through a <see cref="CallInvoker"/>
/// per address from a factory, so tests can exercise this logic with a call double instead of a server.
/// </summary>
internal sealed class EventStoreDbClient : IAsyncDisposable
{
    private readonly EventStoreDbSettings _settings;
    private readonly Func<Uri, CallInvoker> _invokerFactory;
    private readonly ConcurrentDictionary<Uri, CallInvoker> _invokers = new();
    private readonly ConcurrentBag<GrpcChannel> _channels = [];
    private readonly Metadata _headers;
    private readonly Lock _switch = new();
    private Uri _current;
    private int _seed;

    public EventStoreDbClient(EventStoreDbSettings settings, Func<Uri, CallInvoker>? invokerFactory = null)
    {
        _settings = settings;
        _invokerFactory = invokerFactory ?? CreateChannelInvoker;
        _current = settings.AddressOf(settings.Hosts[0]);
        _headers = new Metadata { { "requires-leader", "true" } };
        if (settings.UserName is not null)
            _headers.Add("authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.UserName}:{settings.Password}")));
    }

    /// <summary>The node calls go to now.</summary>
    public Uri Current
    {
        get { lock (_switch) return _current; }
    }

    private Streams.StreamsClient ClientFor(Uri address) => new(_invokers.GetOrAdd(address, _invokerFactory));

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

    private void SwitchTo(Uri from, Uri to)
    {
        lock (_switch)
            if (_current == from) _current = to;
    }

    /// <summary>After a node was unreachable: the next call tries the next host of the connection string.</summary>
    private void Rotate(Uri failed)
    {
        if (_settings.Hosts.Count < 2) return;
        lock (_switch)
        {
            if (_current != failed) return;
            _seed = (_seed + 1) % _settings.Hosts.Count;
            _current = _settings.AddressOf(_settings.Hosts[_seed]);
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> on the current node; on not-leader with a named leader, once more on the
    /// leader (which becomes the current node). Other gRPC failures are mapped (<see cref="EventStoreDbErrors.Map"/>).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Streams.StreamsClient, CallOptions, Task<T>> call, string? streamId, CancellationToken ct)
    {
        var address = Current;
        try
        {
            return await call(ClientFor(address), Options(ct));
        }
        catch (RpcException e) when (EventStoreDbErrors.IsNotLeader(e, out var leader) && leader is not null)
        {
            var leaderAddress = _settings.AddressOf(leader);
            SwitchTo(address, leaderAddress);
            try
            {
                return await call(ClientFor(leaderAddress), Options(ct));
            }
            catch (RpcException again) when (!IsOwnCancellation(again, ct))
            {
                throw Fail(again, leaderAddress, streamId);
            }
        }
        catch (RpcException e) when (!IsOwnCancellation(e, ct))
        {
            throw Fail(e, address, streamId);
        }
        catch (RpcException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
    }

    private EventStoreDbException Fail(RpcException e, Uri address, string? streamId)
    {
        if (e.StatusCode == StatusCode.Unavailable) Rotate(address);
        return EventStoreDbErrors.Map(e, streamId);
    }

    private static bool IsOwnCancellation(RpcException e, CancellationToken ct) =>
        e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested;

    public CallOptions Options(CancellationToken ct, DateTime? deadline = null) => new(_headers, deadline, ct);

    /// <summary>One append: the options message, then each event, then the reply.</summary>
    public Task<AppendResp> AppendAsync(
        string streamId, Action<AppendReq.Types.Options> expectation, IReadOnlyList<AppendReq.Types.ProposedMessage> messages,
        CancellationToken ct) =>
        RunAsync(async (client, options) =>
        {
            using var call = client.Append(options);
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
        }, streamId, ct);

    /// <summary>
    /// Starts a read and waits for its first reply (where a not-leader answer, or any refusal, shows), so the
    /// retry on the leader happens before the caller has seen anything. Null reply: the read is already complete.
    /// </summary>
    public Task<ReadCall> ReadAsync(ReadReq request, string? streamId, CancellationToken ct, DateTime? deadline = null) =>
        RunAsync(async (client, options) =>
        {
            var call = client.Read(request, deadline is null ? options : options.WithDeadline(deadline.Value));
            try
            {
                var first = await call.ResponseStream.MoveNext(ct) ? call.ResponseStream.Current : null;
                return new ReadCall(call, first, streamId, ct);
            }
            catch (RpcException e) when (EventStoreDbErrors.IsStreamNotFound(e))
            {
                call.Dispose();
                return new ReadCall(null, null, streamId, ct); // the stream does not exist: nothing to read
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }, streamId, ct);

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
/// mapped (<see cref="EventStoreDbErrors.Map"/>), the gRPC error as its inner exception.
/// </summary>
internal sealed class ReadCall(AsyncServerStreamingCall<ReadResp>? call, ReadResp? first, string? streamId, CancellationToken ct) : IDisposable
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
            if (await call.ResponseStream.MoveNext(ct)) return call.ResponseStream.Current;
            _done = true;
            return null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        catch (RpcException e)
        {
            throw EventStoreDbErrors.Map(e, streamId);
        }
    }

    public void Dispose() => call?.Dispose();
}
