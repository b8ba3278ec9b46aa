using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Infrastructure.Tests.EventStore;

/// <summary>Reading back: bytes and endorsements exactly as appended, by stream, last event and global log; missing streams.</summary>
public abstract class ReadConformance(StoreUnderTest target) : EventStoreConformance(target)
{
    [SkippableFact]
    public async Task Data_and_metadata_round_trip_byte_exact()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        byte[][] payloads =
        [
            [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80, 0x00], // not UTF-8, with NULs and a lone surrogate encoding
            Encoding.UTF8.GetBytes("{ \"b\" :\t2 ,\r\n  \"a\":[ 1,\n2 ]  ,\"s\":\"\\u00e9 é 🩺\"}\n\n"), // JSON, odd whitespace, key order
            [],
            Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray(), // larger than a page
        ];
        var events = payloads.Select((p, i) => new ProposedEvent(
            Guid.NewGuid(), i == 1 ? "PatientDétailsCorrected" : "Opaque",
            p, payloads[(i + 1) % payloads.Length])).ToArray();

        var appended = await store.AppendAsync(stream, ExpectedVersion.NoStream, events);
        var read = await ReadStreamAsync(store, stream);
        var last = await store.ReadLastAsync(stream);
        var all = await ReadAllEventuallyAsync(store, events.Length);

        Assert.Equal(events.Length, read.Count);
        Assert.Equal(events.Length, all.Count);
        for (var i = 0; i < events.Length; i++)
        {
            foreach (var e in new[] { appended.Events[i], read[i], all[i] })
            {
                Assert.Equal(events[i].Type, e.Type);
                Assert.Equal(events[i].Data, e.Data);
                Assert.Equal(events[i].Metadata, e.Metadata);
                Assert.Equal(HashChain.ComputeHash(e), e.Hash);
            }
        }
        Assert.NotNull(last);
        AssertSameEvent(read[^1], last);
    }

    [SkippableFact]
    public async Task Endorsement_round_trips_on_every_event_of_the_transaction()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(1)); // no endorsement
        var endorsement = new TransactionEndorsement(
            FirstVersion: 1, EventCount: 2, SignedRoot: Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            LeafIndex: 5, BatchSize: 8,
            InclusionPath: [Enumerable.Repeat((byte)0xaa, 32).ToArray(), Enumerable.Repeat((byte)0x01, 32).ToArray()],
            Signatures:
            [
                new EndorsementSignature("hospital-a", "key-2025", Enumerable.Range(0, 64).Select(i => (byte)(255 - i)).ToArray()),
                new EndorsementSignature("hospital-b", "key-1", new byte[64]),
            ]);

        await store.AppendAsync(stream, ExpectedVersion.Exactly(0), NewEvents(2), endorsement);

        var read = await ReadStreamAsync(store, stream);
        var all = await ReadAllEventuallyAsync(store, 3);
        Assert.Null(read[0].Endorsement);
        Assert.Null(all[0].Endorsement);
        foreach (var e in new[] { read[1], read[2], all[1], all[2], (await store.ReadLastAsync(stream))! })
        {
            var got = e.Endorsement;
            Assert.NotNull(got);
            Assert.Equal(endorsement.FirstVersion, got.FirstVersion);
            Assert.Equal(endorsement.EventCount, got.EventCount);
            Assert.Equal(endorsement.SignedRoot, got.SignedRoot);
            Assert.Equal(endorsement.LeafIndex, got.LeafIndex);
            Assert.Equal(endorsement.BatchSize, got.BatchSize);
            Assert.Equal(endorsement.InclusionPath.Count, got.InclusionPath.Count);
            for (var i = 0; i < endorsement.InclusionPath.Count; i++) Assert.Equal(endorsement.InclusionPath[i], got.InclusionPath[i]);
            Assert.Equal(endorsement.Signatures.Count, got.Signatures.Count);
            for (var i = 0; i < endorsement.Signatures.Count; i++)
            {
                Assert.Equal(endorsement.Signatures[i].HospitalId, got.Signatures[i].HospitalId);
                Assert.Equal(endorsement.Signatures[i].KeyId, got.Signatures[i].KeyId);
                Assert.Equal(endorsement.Signatures[i].Signature, got.Signatures[i].Signature);
            }
        }
    }

    [SkippableFact]
    public async Task The_first_event_is_version_0_as_appended()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var appended = await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(3));
        await store.AppendAsync(stream, ExpectedVersion.Exactly(2), NewEvents(2));

        var first = await store.ReadFirstAsync(stream);

        Assert.NotNull(first);
        Assert.Equal(0, first.Version);
        Assert.Equal(appended.Events[0].EventId, first.EventId);
        Assert.Equal(appended.Events[0].Hash, first.Hash);
    }

    [SkippableFact]
    public async Task Read_next_serves_the_one_event_at_or_after_a_version()
    {
        var store = await NewStoreAsync();
        var stream = NewStreamId();
        var appended = await store.AppendAsync(stream, ExpectedVersion.NoStream, NewEvents(4));

        var third = await store.ReadNextAsync(stream, 2);

        Assert.NotNull(third);
        Assert.Equal((2L, appended.Events[2].EventId), (third.Version, third.EventId));
        Assert.Equal(appended.Events[2].Hash, third.Hash);
        Assert.Equal(0, (await store.ReadNextAsync(stream, -5))!.Version);
        Assert.Null(await store.ReadNextAsync(stream, 4));
        Assert.Null(await store.ReadNextAsync(NewStreamId(), 0));
    }

    [SkippableFact]
    public async Task A_missing_stream_reads_empty_and_the_store_is_healthy()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(NewStreamId(), ExpectedVersion.NoStream, NewEvents(1));

        Assert.Empty(await ReadStreamAsync(store, NewStreamId()));
        Assert.Null(await store.ReadLastAsync(NewStreamId()));
        Assert.Null(await store.ReadFirstAsync(NewStreamId()));
        Assert.True(await store.IsHealthyAsync());
    }
}
