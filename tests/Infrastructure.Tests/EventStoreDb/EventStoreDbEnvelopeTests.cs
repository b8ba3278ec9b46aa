using System.Text;
using Google.Protobuf;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>The envelope in an EventStoreDB event, through the wire format both ways, without a server.</summary>
public sealed class EventStoreDbEnvelopeTests
{
    private static readonly TransactionEndorsement Endorsement = new(
        FirstVersion: 3, EventCount: 2, SignedRoot: Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
        LeafIndex: 1, BatchSize: 4, InclusionPath: [Enumerable.Repeat((byte)0xaa, 32).ToArray()],
        Signatures: [new EndorsementSignature("northside", "northside-1", Enumerable.Range(0, 64).Select(i => (byte)(255 - i)).ToArray())]);

    private static IReadOnlyList<EventEnvelope> Linked(params (string Type, byte[] Data, byte[] Metadata)[] events) =>
        HashChain.Link("patient-1", 2, Enumerable.Repeat((byte)7, 32).ToArray(),
            events.Select(e => new ProposedEvent(Guid.NewGuid(), e.Type, e.Data, e.Metadata)).ToArray(), Endorsement);

    /// <summary>What the server does with a proposed message: stores it and returns it as a recorded event.</summary>
    private static ReadResp.Types.ReadEvent ThroughTheWire(EventEnvelope e, byte[]? endorsement, ulong? position)
    {
        var sent = AppendReq.Parser.ParseFrom(new AppendReq { ProposedMessage = EventStoreDbEnvelope.ToProposedMessage(e, endorsement) }.ToByteArray());
        var reply = ScriptedCalls.Recorded(sent.ProposedMessage, e.StreamId, (ulong)e.Version, position);
        return ReadResp.Parser.ParseFrom(reply.ToByteArray()).Event;
    }

    [Fact]
    public void Data_metadata_hash_link_and_endorsement_round_trip_byte_exact()
    {
        var endorsementBytes = Endorsement.ToJson();
        var linked = Linked(
            ("Opaque", [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80, 0x00], "{\"a\":1}"u8.ToArray()),
            ("PatientDétailsCorrected", Encoding.UTF8.GetBytes("{ \"b\" :\t2 ,\r\n \"s\":\"\\u00e9 é 🩺\"}\n"), []),
            ("Empty", [], [0x00, 0xff]),
            ("Large", Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray(), Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray()));

        ulong position = 1000;
        foreach (var e in linked)
        {
            var read = EventStoreDbEnvelope.TryDecode(ThroughTheWire(e, endorsementBytes, position += 100));

            Assert.NotNull(read);
            Assert.Equal(e.EventId, read.EventId);
            Assert.Equal(e.StreamId, read.StreamId);
            Assert.Equal(e.Version, read.Version);
            Assert.Equal(e.Type, read.Type);
            Assert.Equal(e.Data, read.Data);
            Assert.Equal(e.Metadata, read.Metadata);
            Assert.Equal(e.PrevHash, read.PrevHash);
            Assert.Equal(e.Hash, read.Hash);
            Assert.Equal(HashChain.ComputeHash(read), read.Hash);
            Assert.Equal(new GlobalPosition(position, position), read.Position);
            Assert.NotNull(read.Endorsement);
            Assert.Equal(endorsementBytes, read.Endorsement?.ToJson());
        }
    }

    [Fact]
    public void The_event_is_typed_as_ours_and_opaque_to_the_server()
    {
        var e = Linked(("RecordEntryAdded", "{}"u8.ToArray(), "{}"u8.ToArray()))[0];

        var m = EventStoreDbEnvelope.ToProposedMessage(e, null);

        Assert.Equal(EventStoreDbEnvelope.ServerId(e.Hash, null).ToString("D"), m.Id.String);
        Assert.Equal(e.EventId, EventStoreDbEnvelope.TryDecodeWrapper(m.CustomMetadata.Span)?.EventId);
        Assert.Equal("RecordEntryAdded", m.Metadata["type"]);
        Assert.Equal("application/octet-stream", m.Metadata["content-type"]);
        Assert.Equal(e.Data, m.Data.ToByteArray());
        var wrapper = EventStoreDbEnvelope.TryDecodeWrapper(m.CustomMetadata.Span);
        Assert.NotNull(wrapper);
        Assert.Null(wrapper.Endorsement);
        Assert.Null(EventStoreDbEnvelope.TryDecode(ThroughTheWire(e, null, 5))!.Endorsement);
    }

    /// <summary>
    /// EventStoreDB's idempotence compares server ids: they must differ whenever anything stored differs (so only a
    /// byte-identical event at the same place counts as already written) and be equal for the very same event.
    /// </summary>
    [Fact]
    public void The_server_id_names_the_whole_event_and_its_endorsement()
    {
        var endorsement = Endorsement.ToJson();
        var e = Linked(("RecordEntryAdded", "{}"u8.ToArray(), "{}"u8.ToArray()))[0];
        var sameIdOtherBytes = HashChain.Link("patient-1", 2, Enumerable.Repeat((byte)7, 32).ToArray(),
            [new ProposedEvent(e.EventId, e.Type, "{\"x\":1}"u8.ToArray(), e.Metadata)], null)[0];
        var sameBytesElsewhere = HashChain.Link("patient-1", 5, Enumerable.Repeat((byte)7, 32).ToArray(),
            [new ProposedEvent(e.EventId, e.Type, e.Data, e.Metadata)], null)[0];

        Assert.Equal(EventStoreDbEnvelope.ServerId(e.Hash, endorsement), EventStoreDbEnvelope.ServerId(e.Hash.ToArray(), endorsement.ToArray()));
        Assert.NotEqual(EventStoreDbEnvelope.ServerId(e.Hash, endorsement), EventStoreDbEnvelope.ServerId(e.Hash, null));
        Assert.NotEqual(EventStoreDbEnvelope.ServerId(e.Hash, null), EventStoreDbEnvelope.ServerId(sameIdOtherBytes.Hash, null));
        Assert.NotEqual(EventStoreDbEnvelope.ServerId(e.Hash, null), EventStoreDbEnvelope.ServerId(sameBytesElsewhere.Hash, null));
    }

    [Fact]
    public void An_event_written_before_the_wrapper_carried_our_id_is_read_with_the_servers()
    {
        var e = Linked(("RecordEntryAdded", "{}"u8.ToArray(), "{}"u8.ToArray()))[0];
        var older = ThroughTheWire(e, null, 10);
        older.Event.CustomMetadata = ByteString.CopyFrom(System.Text.Encoding.UTF8.GetBytes(
            $"{{\"he\":1,\"m\":\"{Convert.ToBase64String(e.Metadata)}\",\"p\":\"{Convert.ToBase64String(e.PrevHash)}\",\"h\":\"{Convert.ToBase64String(e.Hash)}\"}}"));
        older.Event.Id = new UUID { String = e.EventId.ToString("D") };

        Assert.Equal(e.EventId, EventStoreDbEnvelope.TryDecode(older)?.EventId);
    }

    [Fact]
    public void System_events_and_events_without_our_envelope_are_not_ours()
    {
        var e = Linked(("RecordEntryAdded", "{}"u8.ToArray(), "{}"u8.ToArray()))[0];
        var ours = ThroughTheWire(e, null, 10);
        Assert.NotNull(EventStoreDbEnvelope.TryDecode(ours));

        Assert.Null(EventStoreDbEnvelope.TryDecode(ScriptedCalls.SystemEvent(20).Event));
        var claim = ours.Clone(); // what an older adapter wrote to claim an event id: no envelope
        claim.Event.StreamIdentifier = EventStoreDbEnvelope.Stream("he-event-id-" + Guid.NewGuid());
        claim.Event.CustomMetadata = ByteString.Empty;
        Assert.Null(EventStoreDbEnvelope.TryDecode(claim));
        var foreign = ours.Clone();
        foreign.Event.CustomMetadata = ByteString.CopyFromUtf8("{\"$correlationId\":\"x\"}");
        Assert.Null(EventStoreDbEnvelope.TryDecode(foreign));
        Assert.Throws<InvalidDataException>(() => EventStoreDbEnvelope.Decode(foreign, "patient-1"));
        var tombstone = ours.Clone();
        tombstone.Event.Metadata["type"] = "$streamDeleted";
        Assert.Null(EventStoreDbEnvelope.TryDecode(tombstone));
    }

    [Fact]
    public void Positions_come_from_the_read_or_the_recorded_event_and_none_means_none()
    {
        var e = Linked(("RecordEntryAdded", "{}"u8.ToArray(), "{}"u8.ToArray()))[0];

        var fromAll = ThroughTheWire(e, null, 500);
        fromAll.Event.PreparePosition = 480;
        Assert.Equal(new GlobalPosition(500, 480), EventStoreDbEnvelope.PositionOf(fromAll));

        var fromStream = ThroughTheWire(e, null, null); // no position: the server sends the maximum value
        Assert.Null(EventStoreDbEnvelope.PositionOf(fromStream));
        Assert.Null(EventStoreDbEnvelope.TryDecode(fromStream)!.Position);

        fromStream.Event.CommitPosition = 700;
        fromStream.Event.PreparePosition = 700;
        Assert.Equal(new GlobalPosition(700, 700), EventStoreDbEnvelope.PositionOf(fromStream));
    }

    [Fact]
    public void Ids_are_read_in_string_and_structured_form()
    {
        var id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

        Assert.Equal(id, EventStoreDbEnvelope.ToGuid(new UUID { String = id.ToString() }));
        Assert.Equal(id, EventStoreDbEnvelope.ToGuid(new UUID
        {
            Structured = new UUID.Types.Structured
            {
                MostSignificantBits = unchecked((long)0x0f8fad5bd9cb469fUL),
                LeastSignificantBits = unchecked((long)0xa16570867728950eUL),
            },
        }));
        Assert.Throws<InvalidDataException>(() => EventStoreDbEnvelope.ToGuid(new UUID()));
    }
}
