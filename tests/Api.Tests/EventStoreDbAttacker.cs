using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to the service's EventStoreDB, past the service and its endorsers: appends with an own
/// gRPC client (no id claim, no chain check, no endorsement), and stream metadata. Names are the service's stream ids;
/// the service's prefix is added here.
/// </summary>
public sealed class EventStoreDbAttacker(ServiceHost host) : IAsyncDisposable
{
    private static readonly EventStoreDbSettings Settings = EventStoreDbSettings.Parse(
        ServiceHost.EventStoreDbConnectionString ?? throw new InvalidOperationException(ServiceHost.EventStoreDbSkipReason));

    private readonly EventStoreDbClient _client = new(Settings);

    private string OnServer(string streamId) => host.EventStoreDbPrefix + streamId;

    /// <summary>Writes the envelope as the adapter would (same wire form) after <paramref name="expectedRevision"/>.</summary>
    public async Task AppendAsync(EventEnvelope forged, TransactionEndorsement? endorsement, long expectedRevision)
    {
        var reply = await _client.AppendAsync(OnServer(forged.StreamId), o => o.Revision = (ulong)expectedRevision,
            [EventStoreDbEnvelope.ToProposedMessage(forged, endorsement?.ToJson())], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    /// <summary>Appends an event of any client (no envelope at all: type, data and custom metadata as given) at the end.</summary>
    public async Task AppendForeignAsync(string streamId, string type, string data, string metadata)
    {
        var foreign = new AppendReq.Types.ProposedMessage
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { ["type"] = type, ["content-type"] = "application/json" },
            Data = Google.Protobuf.ByteString.CopyFrom(data, Encoding.UTF8),
            CustomMetadata = Google.Protobuf.ByteString.CopyFrom(metadata, Encoding.UTF8),
        };
        var reply = await _client.AppendAsync(OnServer(streamId), o => o.Any = new Empty(), [foreign], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    /// <summary>
    /// Appends an event as any EventStoreDB client would — a type, JSON data, no custom metadata (so none of
    /// HealthEvents' envelope: no id, link, hash or endorsement) — after <paramref name="expectedRevision"/>.
    /// </summary>
    public async Task AppendRawAsync(string streamId, string type, string json, long expectedRevision)
    {
        var message = new AppendReq.Types.ProposedMessage
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { ["type"] = type, ["content-type"] = "application/json" },
            Data = Google.Protobuf.ByteString.CopyFrom(json, Encoding.UTF8),
        };
        var reply = await _client.AppendAsync(OnServer(streamId), o => o.Revision = (ulong)expectedRevision, [message], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    /// <summary>
    /// Sets the stream's truncate-before (<c>$tb</c>) to <paramref name="version"/>: the server hides the events before
    /// it from then on. At the stream's length, this is what a soft delete does.
    /// </summary>
    public async Task TruncateBeforeAsync(string streamId, long version)
    {
        var metadata = new AppendReq.Types.ProposedMessage
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { ["type"] = "$metadata", ["content-type"] = "application/json" },
            Data = Google.Protobuf.ByteString.CopyFrom($"{{\"$tb\":{version}}}", Encoding.UTF8),
        };
        var reply = await _client.AppendAsync("$$" + OnServer(streamId), o => o.Any = new Empty(), [metadata], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    /// <summary>
    /// Deletes the stream for good (a tombstone: EventStoreDB's hard delete, through its HTTP API as an operator's tool
    /// would): it is neither read nor appended to again, and cannot be restored.
    /// </summary>
    public async Task HardDeleteAsync(string streamId)
    {
        using var http = new HttpClient { BaseAddress = Settings.AddressOf(Settings.Hosts[0]) };
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/streams/{Uri.EscapeDataString(OnServer(streamId))}")
        {
            Headers = { { "ES-HardDelete", "true" } },
        };
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"DELETE /streams answered {(int)response.StatusCode}");
    }

    /// <summary>
    /// Writes the stream's metadata (<c>$maxCount</c>, <c>$maxAge</c>, <c>$tb</c>...) as the JSON given, through the
    /// <c>$$</c> metadata stream: the server applies it to every later read of the stream.
    /// </summary>
    public async Task SetMetadataAsync(string streamId, string json)
    {
        var metadata = new AppendReq.Types.ProposedMessage
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { ["type"] = "$metadata", ["content-type"] = "application/json" },
            Data = Google.Protobuf.ByteString.CopyFrom(json, Encoding.UTF8),
        };
        var reply = await _client.AppendAsync("$$" + OnServer(streamId), o => o.Any = new Empty(), [metadata], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    /// <summary>
    /// Soft-deletes the stream through the HTTP API (no <c>ES-HardDelete</c>): its reads serve nothing, and a later
    /// append recreates it, its revisions going on after the deleted ones.
    /// </summary>
    public async Task SoftDeleteAsync(string streamId)
    {
        using var http = new HttpClient { BaseAddress = Settings.AddressOf(Settings.Hosts[0]) };
        using var response = await http.DeleteAsync($"/streams/{Uri.EscapeDataString(OnServer(streamId))}");
        Assert.True(response.IsSuccessStatusCode, $"DELETE /streams answered {(int)response.StatusCode}");
    }

    /// <summary>Appends an event with the given server-side type and content type (our wire form otherwise) at the end.</summary>
    public async Task AppendTypedAsync(EventEnvelope forged, TransactionEndorsement? endorsement, string type, string contentType)
    {
        var message = EventStoreDbEnvelope.ToProposedMessage(forged, endorsement?.ToJson());
        message.Metadata["type"] = type;
        message.Metadata["content-type"] = contentType;
        var reply = await _client.AppendAsync(OnServer(forged.StreamId), o => o.Any = new Empty(), [message], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
