using System.Text;
using Google.Protobuf;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>
/// The envelope as the adapter writes it: pure mapping, no server. That it round-trips byte for byte through a real server
/// is the conformance suite's (ReadConformance on EventStoreDB); what the server does with foreign, deleted and older
/// events is <see cref="EventStoreDbServerTests"/>'.
/// </summary>
public sealed class EventStoreDbEnvelopeTests
{
    private static readonly TransactionEndorsement Endorsement = new(
        FirstVersion: 3, EventCount: 2, SignedRoot: Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
        LeafIndex: 1, BatchSize: 4, InclusionPath: [Enumerable.Repeat((byte)0xaa, 32).ToArray()],
        Signatures: [new EndorsementSignature("northside", "northside-1", Enumerable.Range(0, 64).Select(i => (byte)(255 - i)).ToArray())]);

    private static IReadOnlyList<EventEnvelope> Linked(params (string Type, byte[] Data, byte[] Metadata)[] events) =>
        HashChain.Link("patient-1", 2, Enumerable.Repeat((byte)7, 32).ToArray(),
            events.Select(e => new ProposedEvent(Guid.NewGuid(), e.Type, e.Data, e.Metadata)).ToArray(), Endorsement);

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
