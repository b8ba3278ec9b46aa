using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// Our envelope in an EventStoreDB event. The event's <c>data</c> is our data bytes and its metadata map holds
/// <c>type</c> (our type) and <c>content-type</c> (application/octet-stream: the server never parses the bytes).
/// Its <c>custom_metadata</c> is a small UTF-8 JSON wrapper carrying the rest byte-exact, each byte field in
/// base64: <c>{"he":1,"i":eventId,"m":metadata,"p":prevHash,"h":hash,"e":endorsement}</c> (<c>i</c> as the UUID's
/// 8-4-4-4-12 text; <c>e</c> only when endorsed, its bytes the shared endorsement JSON). Version is the stream
/// revision. An event without this wrapper was not written by HealthEvents; it is read all the same (<see cref="TryDecode"/>).
/// <para>
/// The id EventStoreDB knows the event by is not our event id but <see cref="ServerId"/>, a name-based UUID of the
/// event's hash and endorsement: EventStoreDB's own idempotence (an append whose ids already follow the expected
/// revision succeeds without writing) then holds only for byte-identical events at the same place, so a success
/// always means the stream holds exactly what was sent. Events written before the wrapper carried <c>i</c> are read
/// with the server's id as theirs.
/// </para>
/// </summary>
internal static class EventStoreDbEnvelope
{
    public const string TypeKey = "type";
    public const string ContentTypeKey = "content-type";
    public const string OctetStream = "application/octet-stream";
    private const int WrapperVersion = 1;

    private static readonly byte[] ServerIdTag = "healthevents/esdb-event-id/v1"u8.ToArray();

    /// <summary>The wrapper's fields, decoded; <paramref name="EventId"/> is null in events written before it was carried.</summary>
    public sealed record Wrapper(Guid? EventId, byte[] Metadata, byte[] PrevHash, byte[] Hash, byte[]? Endorsement);

    public static AppendReq.Types.ProposedMessage ToProposedMessage(EventEnvelope linked, byte[]? endorsement) => new()
    {
        Id = new UUID { String = ServerId(linked.Hash, endorsement).ToString("D") },
        Metadata = { [TypeKey] = linked.Type, [ContentTypeKey] = OctetStream },
        Data = UnsafeByteOperations.UnsafeWrap(linked.Data),
        CustomMetadata = UnsafeByteOperations.UnsafeWrap(EncodeWrapper(linked.EventId, linked.Metadata, linked.PrevHash, linked.Hash, endorsement)),
    };

    /// <summary>
    /// The event's id on the server: a name-based UUID (version 8) of SHA-256 over a fixed tag, the event's hash (which
    /// covers stream, version, our id, type, data, metadata and the link) and its endorsement bytes.
    /// </summary>
    public static Guid ServerId(byte[] hash, byte[]? endorsement)
    {
        var name = new byte[ServerIdTag.Length + hash.Length + (endorsement?.Length ?? 0)];
        ServerIdTag.CopyTo(name, 0);
        hash.CopyTo(name, ServerIdTag.Length);
        endorsement?.CopyTo(name, ServerIdTag.Length + hash.Length);
        return HealthEvents.Application.Commands.DeterministicIds.Named(name);
    }

    public static byte[] EncodeWrapper(Guid eventId, byte[] metadata, byte[] prevHash, byte[] hash, byte[]? endorsement)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(180 + (metadata.Length + (endorsement?.Length ?? 0)) * 4 / 3);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("he", WrapperVersion);
            w.WriteString("i", eventId.ToString("D"));
            w.WriteBase64String("m", metadata);
            w.WriteBase64String("p", prevHash);
            w.WriteBase64String("h", hash);
            if (endorsement is not null) w.WriteBase64String("e", endorsement);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The wrapper, or null when <paramref name="customMetadata"/> is not one (an event HealthEvents did not write).</summary>
    public static Wrapper? TryDecodeWrapper(ReadOnlySpan<byte> customMetadata)
    {
        if (customMetadata.IsEmpty || customMetadata[0] != (byte)'{') return null;
        try
        {
            var r = new Utf8JsonReader(customMetadata);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return null;
            int? version = null;
            Guid? id = null;
            byte[]? m = null, p = null, h = null, e = null;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var name = r.GetString();
                if (!r.Read()) return null;
                switch (name)
                {
                    case "he" when r.TokenType == JsonTokenType.Number: version = r.GetInt32(); break;
                    case "i" when r.TokenType == JsonTokenType.String: id = Guid.ParseExact(r.GetString()!, "D"); break;
                    case "m" when r.TokenType == JsonTokenType.String: m = r.GetBytesFromBase64(); break;
                    case "p" when r.TokenType == JsonTokenType.String: p = r.GetBytesFromBase64(); break;
                    case "h" when r.TokenType == JsonTokenType.String: h = r.GetBytesFromBase64(); break;
                    case "e" when r.TokenType == JsonTokenType.String: e = r.GetBytesFromBase64(); break;
                    default: r.Skip(); break;
                }
            }
            return version == WrapperVersion && m is not null && p is not null && h is not null ? new Wrapper(id, m, p, h, e) : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The envelope of a read event of one of our streams, or null when the event is not in our global log: a stream
    /// outside <paramref name="prefix"/> (the store's names on the server, stripped from the envelope's stream id) or,
    /// without a prefix, not one of HealthEvents' streams (<see cref="IsOurStream"/>), a system stream (its name starts
    /// with '$': metadata <c>$$…</c>, the server's link streams <c>$et-…</c>, <c>$ce-…</c>), or the tombstone a hard
    /// delete leaves (<see cref="IsTombstone"/>). Neither who wrote it nor its type decides anything here: an event
    /// someone else appended to our stream (through the HTTP API, or gRPC without the wrapper, under any type — one
    /// starting with '$', such as the server's own <c>$&gt;</c>, included) is returned as <see cref="Foreign"/>. Stream
    /// reads serve it, so verification, the ledger and projections must see it in the global log too, and its empty
    /// hashes fail the chain check there.
    /// </summary>
    public static EventEnvelope? TryDecode(ReadResp.Types.ReadEvent readEvent, string prefix = "")
    {
        var recorded = readEvent.Event;
        if (recorded is null) return null;
        var onServer = recorded.StreamIdentifier?.StreamName.ToStringUtf8() ?? "";
        if (!onServer.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var streamId = onServer[prefix.Length..];
        if (!IsLogStream(streamId) || (prefix.Length == 0 && !IsOurStream(streamId))) return null;
        var type = recorded.Metadata.TryGetValue(TypeKey, out var t) ? t : "";
        if (IsTombstone(recorded, type)) return null;
        if (TryDecodeWrapper(recorded.CustomMetadata.Span) is not { } wrapper) return Foreign(readEvent, streamId, type);
        return new EventEnvelope(
            EventId: wrapper.EventId ?? ToGuid(recorded.Id),
            StreamId: streamId,
            Version: checked((long)recorded.StreamRevision),
            Type: type,
            Data: recorded.Data.ToByteArray(),
            Metadata: wrapper.Metadata,
            PrevHash: wrapper.PrevHash,
            Hash: wrapper.Hash,
            Endorsement: wrapper.Endorsement is null ? null : TransactionEndorsement.FromStored(wrapper.Endorsement),
            Position: PositionOf(readEvent));
    }

    /// <summary>
    /// Like <see cref="TryDecode"/>, for reads of a stream HealthEvents owns. An event there without our envelope (any
    /// client with write access can append one) is not skipped — that would hide it — but read as what it is (see
    /// <see cref="Foreign"/>): verification then reports it at its version, deciding on the stream fails as damaged
    /// (its type or metadata is not ours), and reads answer instead of failing.
    /// </summary>
    public static EventEnvelope Decode(ReadResp.Types.ReadEvent readEvent, string streamId, string prefix = "") =>
        TryDecode(readEvent, prefix) ?? Foreign(readEvent, streamId,
            readEvent.Event?.Metadata.TryGetValue(TypeKey, out var type) == true ? type : "");

    /// <summary>
    /// An event without our wrapper, as stored: the server's id, its type, data and custom metadata bytes, no link and
    /// no hash (empty), no endorsement. The verifier reports it as a broken chain at its stream and version.
    /// </summary>
    private static EventEnvelope Foreign(ReadResp.Types.ReadEvent readEvent, string streamId, string type)
    {
        var recorded = readEvent.Event ?? throw new DamagedStreamException(streamId, -1, new InvalidDataException("A read reply without its event."));
        return new EventEnvelope(
            EventId: recorded.Id is null ? Guid.Empty : ToGuid(recorded.Id),
            StreamId: streamId,
            Version: checked((long)recorded.StreamRevision),
            Type: type,
            Data: recorded.Data.ToByteArray(),
            Metadata: recorded.CustomMetadata.ToByteArray(),
            PrevHash: [],
            Hash: [],
            Endorsement: null,
            Position: PositionOf(readEvent));
    }

    /// <summary>The server's type for the tombstone a hard delete writes into the deleted stream itself.</summary>
    public const string TombstoneType = "$streamDeleted";

    /// <summary>
    /// The tombstone a hard delete writes into the stream: type <see cref="TombstoneType"/> at revision
    /// <see cref="long.MaxValue"/> (EventStoreDB's "deleted stream" number), which no append can reach — so an event a
    /// client appends under that type at an ordinary revision is still served. It is the server's mark, not an event of
    /// the stream (its reads serve nothing from then on, which verification reports as <c>stream-truncated</c>).
    /// </summary>
    public static bool IsTombstone(ReadResp.Types.ReadEvent.Types.RecordedEvent recorded, string type) =>
        recorded.StreamRevision == long.MaxValue && type == TombstoneType;

    /// <summary>Streams of our global log: not system streams ('$...').</summary>
    public static bool IsLogStream(string streamId) => streamId.Length > 0 && streamId[0] != '$';

    /// <summary>
    /// HealthEvents' stream names (<c>network</c>, <c>research</c>, <c>ledger</c>, <c>patient-…</c>): without a
    /// prefix, the global log is these streams and no other application's on the same server.
    /// </summary>
    public static bool IsOurStream(string streamId) =>
        streamId is NetworkStream.StreamId or ResearchStream.StreamId or LedgerStream.StreamId
        || streamId.StartsWith(PatientStream.StreamPrefix, StringComparison.Ordinal);

    /// <summary>The server-side form of <see cref="IsOurStream"/>: a regular expression on the stream name.</summary>
    public static readonly string OurStreamsPattern =
        $"^({NetworkStream.StreamId}|{ResearchStream.StreamId}|{LedgerStream.StreamId})$|^{PatientStream.StreamPrefix}";

    /// <summary>
    /// The event's place in $all, (commit, prepare): the commit position of the read (for $all reads) or of the
    /// recorded event. Null when the server gives none (it sends the maximum value for "no position").
    /// </summary>
    public static GlobalPosition? PositionOf(ReadResp.Types.ReadEvent readEvent)
    {
        var recorded = readEvent.Event;
        if (recorded is null) return null;
        var commit = readEvent.PositionCase == ReadResp.Types.ReadEvent.PositionOneofCase.CommitPosition
            ? readEvent.CommitPosition
            : recorded.CommitPosition;
        var prepare = recorded.PreparePosition;
        if (commit == ulong.MaxValue || prepare == ulong.MaxValue) return null;
        if (commit == 0 && prepare == 0 && readEvent.PositionCase != ReadResp.Types.ReadEvent.PositionOneofCase.CommitPosition) return null;
        return new GlobalPosition(commit, prepare);
    }

    /// <summary>
    /// The place in $all of an append's last event, from the server's reply; null when it gives none (no_position,
    /// or the maximum value that stands for none).
    /// </summary>
    public static GlobalPosition? PositionOf(AppendResp.Types.Success success)
    {
        if (success.PositionOptionCase != AppendResp.Types.Success.PositionOptionOneofCase.Position) return null;
        var p = success.Position;
        return p.CommitPosition == ulong.MaxValue || p.PreparePosition == ulong.MaxValue ? null : new GlobalPosition(p.CommitPosition, p.PreparePosition);
    }

    /// <summary>The id in either form: the string (asked for on every read), or the structured pair of big-endian halves.</summary>
    public static Guid ToGuid(UUID? id)
    {
        switch (id?.ValueCase)
        {
            case UUID.ValueOneofCase.String:
                return Guid.Parse(id.String);
            case UUID.ValueOneofCase.Structured:
                Span<byte> bytes = stackalloc byte[16];
                BinaryPrimitives.WriteInt64BigEndian(bytes, id.Structured.MostSignificantBits);
                BinaryPrimitives.WriteInt64BigEndian(bytes[8..], id.Structured.LeastSignificantBits);
                return new Guid(bytes, bigEndian: true);
            default:
                throw new InvalidDataException("An EventStoreDB event carries no id.");
        }
    }

    public static StreamIdentifier Stream(string streamId) => new() { StreamName = ByteString.CopyFrom(streamId, Encoding.UTF8) };
}
