using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static HealthEvents.Application.Tests.ApplicationHost;

namespace HealthEvents.Application.Tests;

public sealed class StreamLoaderTests
{
    private const int StreamLength = 1500; // three of the store's 512-event pages

    private static CommandContext Doctor => As("dr-north", Role.Physician, "north"); // a new command id each time

    [Fact]
    public async Task A_load_cancelled_part_way_keeps_what_it_folded_so_the_next_reads_only_the_rest()
    {
        InterferingStore? store = null;
        await using var host = await StartAsync(inner => store = new InterferingStore(inner));
        var serializer = host.Services.GetRequiredService<EventSerializer>();
        var streamId = await LongStreamAsync(host, serializer);

        // A node of its own (as each endorser is): its own cache, empty. Its first load is cut off part-way, as an
        // endorsement round cuts off the endorser it no longer needs.
        var cache = new StreamStateCache();
        var loader = new StreamLoader(store!, serializer, cache);
        using var cut = new CancellationTokenSource();
        var read = 0;
        store!.OnRead = _ => { if (++read == 700) cut.Cancel(); };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(streamId, cut.Token));

        var kept = cache.TryGet<PatientState>(streamId);
        Assert.NotNull(kept);
        Assert.InRange(kept.Version, 699, StreamLength - 2);

        // The next load reads the events after the kept version, and the stream's first event again (its start still holds).
        var versions = new List<long>();
        store.OnRead = e => versions.Add(e.Version);
        var loaded = await loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(streamId, CancellationToken.None);
        long[] expected = [0, .. Enumerable.Range((int)kept.Version + 1, StreamLength - 1 - (int)kept.Version).Select(v => (long)v)];
        Assert.Equal(expected, versions.Order());

        // The same state as a whole fold from the start by a node that was never cut off.
        var whole = await new StreamLoader(host.Store, serializer, new StreamStateCache())
            .LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(streamId, CancellationToken.None);
        Assert.Equal(StreamLength - 1, loaded.Version);
        Assert.Equal(whole.LastHash, loaded.LastHash);
        Assert.Equal(whole.State.Entries.Keys.Order(), loaded.State.Entries.Keys.Order());
        Assert.Equal(StreamLength - 1, loaded.State.Entries.Count);
    }

    /// <summary>A registered patient with one entry added by a command, then copies of it (new entry ids) appended straight to the store.</summary>
    private static async Task<string> LongStreamAsync(ApplicationHost host, EventSerializer serializer)
    {
        var patientId = (await host.SendAsync(new RegisterPatientCommand(null, "north", 1970, "female", "Test Patient", Doctor))).PatientId;
        await host.SendAsync(new AddRecordEntryCommand(patientId, null, "conditions", new("icd-10", "E11", null), "note", null, Doctor));
        var streamId = PatientStream.StreamId(patientId);
        var last = (await host.ReadAsync(streamId))[^1];
        var entry = (RecordEntryAdded)serializer.Deserialize(last.Type, last.Data);
        for (var head = last.Version; head < StreamLength - 1;)
        {
            var events = Enumerable.Range(0, (int)Math.Min(500, StreamLength - 1 - head))
                .Select(_ => new ProposedEvent(Guid.NewGuid(), last.Type, serializer.Serialize(entry with { EntryId = Guid.NewGuid() }), last.Metadata))
                .ToList();
            head = (await host.Store.AppendAsync(streamId, ExpectedVersion.Exactly(head), events, null)).LastVersion;
        }
        return streamId;
    }
}
