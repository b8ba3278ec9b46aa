using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>
/// A call double for the adapter's gRPC calls: each Append and Read is answered by the test's script, which sees the
/// node addressed and the exact request messages. It tests our side of the protocol (mapping, redirection, resuming);
/// it is not an EventStoreDB and the conformance suite never runs on it.
/// </summary>
internal sealed class ScriptedCalls
{
    public sealed record AppendCall(Uri Node, string Stream, AppendReq.Types.Options Options, IReadOnlyList<AppendReq.Types.ProposedMessage> Events, Metadata Headers);
    public sealed record ReadCallSeen(Uri Node, ReadReq Request, Metadata Headers);

    /// <summary>Answers an append (or throws an <see cref="RpcException"/>).</summary>
    public Func<AppendCall, AppendResp> OnAppend { get; set; } = _ => Success(0);

    /// <summary>The replies of a read; a null reply means "nothing more until cancelled" (a live subscription); it may throw mid-way.</summary>
    public Func<ReadCallSeen, IEnumerable<ReadResp?>> OnRead { get; set; } = _ => [];

    /// <summary>Answers a gossip request to a node (or throws an <see cref="RpcException"/>: the node is away).</summary>
    public Func<Uri, ClusterInfo> OnGossip { get; set; } = node => throw Error(StatusCode.Unimplemented);

    public ConcurrentQueue<AppendCall> Appends { get; } = new();
    public ConcurrentQueue<ReadCallSeen> Reads { get; } = new();
    public ConcurrentQueue<Uri> Gossips { get; } = new();

    /// <summary>A gossip answer: each member as (host, port, state), alive unless its state is Unknown.</summary>
    public static ClusterInfo Cluster(params (string Host, int Port, MemberInfo.Types.VNodeState State)[] members)
    {
        var info = new ClusterInfo();
        foreach (var (host, port, state) in members)
            info.Members.Add(new MemberInfo
            {
                InstanceId = new UUID { String = Guid.NewGuid().ToString() },
                State = state,
                IsAlive = state != MemberInfo.Types.VNodeState.Unknown,
                HttpEndPoint = new EndPoint { Address = host, Port = (uint)port },
            });
        return info;
    }

    public EventStoreDbEventStore Store(string connectionString = "esdb://node-a:2113?tls=false", EventStoreDbStoreOptions? options = null) =>
        new(new EventStoreDbClient(EventStoreDbSettings.Parse(connectionString), node => new Invoker(node, this)), options);

    public static AppendResp Success(ulong revision) => new() { Success = new AppendResp.Types.Success { CurrentRevision = revision, NoPosition = new Empty() } };

    public static RpcException Error(StatusCode code, params (string Key, string Value)[] trailers)
    {
        var metadata = new Metadata();
        foreach (var (k, v) in trailers) metadata.Add(k, v);
        return new RpcException(new Status(code, "scripted"), metadata);
    }

    /// <summary>An event as the server returns it for what the client proposed: the same id, type, bytes and custom metadata.</summary>
    public static ReadResp Recorded(AppendReq.Types.ProposedMessage m, string stream, ulong revision, ulong? position)
    {
        var recorded = new ReadResp.Types.ReadEvent.Types.RecordedEvent
        {
            Id = new UUID { String = m.Id.String },
            StreamIdentifier = new StreamIdentifier { StreamName = ByteString.CopyFromUtf8(stream) },
            StreamRevision = revision,
            CommitPosition = position ?? ulong.MaxValue,
            PreparePosition = position ?? ulong.MaxValue,
            Metadata = { ["type"] = m.Metadata["type"], ["content-type"] = m.Metadata["content-type"], ["created"] = "638000000000000000" },
            CustomMetadata = m.CustomMetadata,
            Data = m.Data,
        };
        var readEvent = new ReadResp.Types.ReadEvent { Event = recorded };
        if (position is { } p) readEvent.CommitPosition = p;
        else readEvent.NoPosition = new Empty();
        return new ReadResp { Event = readEvent };
    }

    /// <summary>A system event ($stats-like) at a position of $all.</summary>
    public static ReadResp SystemEvent(ulong position) => new()
    {
        Event = new ReadResp.Types.ReadEvent
        {
            CommitPosition = position,
            Event = new ReadResp.Types.ReadEvent.Types.RecordedEvent
            {
                Id = new UUID { String = Guid.NewGuid().ToString() },
                StreamIdentifier = new StreamIdentifier { StreamName = ByteString.CopyFromUtf8("$stats-127.0.0.1:2113") },
                CommitPosition = position,
                PreparePosition = position,
                Metadata = { ["type"] = "$statsCollected", ["content-type"] = "application/json" },
                Data = ByteString.CopyFromUtf8("{}"),
            },
        },
    };

    private sealed class Invoker(Uri node, ScriptedCalls script) : CallInvoker
    {
        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options)
        {
            var writer = new Writer<TRequest>();
            var response = writer.Completed.Task.ContinueWith(t =>
            {
                var requests = t.Result.Cast<AppendReq>().ToList();
                var header = requests[0].Options;
                var call = new AppendCall(node, header.StreamIdentifier.StreamName.ToStringUtf8(), header,
                    requests.Skip(1).Select(r => r.ProposedMessage).ToList(), options.Headers ?? []);
                script.Appends.Enqueue(call);
                return (TResponse)(object)script.OnAppend(call);
            }, TaskScheduler.Default);
            return new AsyncClientStreamingCall<TRequest, TResponse>(
                writer, response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            var seen = new ReadCallSeen(node, (ReadReq)(object)request!, options.Headers ?? []);
            script.Reads.Enqueue(seen);
            var reader = new Reader<TResponse>(script.OnRead(seen).Select(r => (TResponse?)(object?)r).GetEnumerator(), options.CancellationToken);
            return new AsyncServerStreamingCall<TResponse>(
                reader, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], reader.Dispose);
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            if (method.FullName != "/event_store.client.gossip.Gossip/Read") throw new NotSupportedException(method.FullName);
            script.Gossips.Enqueue(node);
            var response = Task.Run(() => (TResponse)(object)script.OnGossip(node));
            return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();
    }

    private sealed class Writer<T> : IClientStreamWriter<T>
    {
        private readonly List<object> _messages = [];
        public TaskCompletionSource<List<object>> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(T message)
        {
            _messages.Add(message!);
            return Task.CompletedTask;
        }

        public Task CompleteAsync()
        {
            Completed.TrySetResult(_messages);
            return Task.CompletedTask;
        }
    }

    private sealed class Reader<T>(IEnumerator<T?> replies, CancellationToken callToken) : IAsyncStreamReader<T>
    {
        private readonly CancellationTokenSource _disposed = new();
        public T Current { get; private set; } = default!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!replies.MoveNext()) return false;
            if (replies.Current is null)
            {
                // live and quiet: nothing more until the call is cancelled or disposed
                using var any = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callToken, _disposed.Token);
                try
                {
                    await Task.Delay(Timeout.Infinite, any.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new RpcException(new Status(StatusCode.Cancelled, "call cancelled"));
                }
            }
            Current = replies.Current!;
            return true;
        }

        public void Dispose()
        {
            _disposed.Cancel();
            replies.Dispose();
        }
    }
}
