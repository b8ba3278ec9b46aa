using HealthEvents.Application.Ledger;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Ledger;

public sealed class StreamVerifierTests
{
    [Fact]
    public void An_untouched_stream_verifies()
    {
        var report = StreamVerifier.Verify(Stream(10));

        Assert.True(report.Verified);
        Assert.Equal(10, report.Events);
        Assert.Null(report.FirstBrokenVersion);
        Assert.Empty(report.Problems);
    }

    [Fact]
    public void An_empty_stream_verifies()
    {
        var report = StreamVerifier.Verify([]);

        Assert.True(report.Verified);
        Assert.Equal(0, report.Events);
        Assert.Empty(report.Problems);
    }

    [Fact]
    public void One_byte_of_data_changed_is_reported_at_its_version()
    {
        var events = Stream(7);
        events[3] = events[3] with { Data = FlipByte(events[3].Data, 5) };

        var report = StreamVerifier.Verify(events);

        Assert.False(report.Verified);
        Assert.Equal(3, report.FirstBrokenVersion);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((3L, VerificationCodes.HashMismatch, "patient-1"), (problem.Version, problem.Code, problem.StreamId));
    }

    [Fact]
    public void One_byte_of_metadata_changed_is_reported_at_its_version()
    {
        var events = Stream(7);
        events[5] = events[5] with { Metadata = FlipByte(events[5].Metadata, 2) };

        var report = StreamVerifier.Verify(events);

        Assert.Equal(5, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.HashMismatch, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public void Type_event_id_and_stream_version_are_all_covered_by_the_hash()
    {
        var events = Stream(4);
        Assert.Equal(2, StreamVerifier.Verify(Replace(events, 2, events[2] with { Type = "EntryRemoved" })).FirstBrokenVersion);
        Assert.Equal(2, StreamVerifier.Verify(Replace(events, 2, events[2] with { EventId = Guid.NewGuid() })).FirstBrokenVersion);
    }

    [Fact]
    public void An_altered_event_whose_hash_was_recomputed_breaks_the_next_link()
    {
        var events = Stream(7);
        var altered = events[3] with { Data = FlipByte(events[3].Data, 5) };
        events[3] = altered with { Hash = HashChain.ComputeHash(altered) };

        var report = StreamVerifier.Verify(events);

        Assert.Equal(4, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.BrokenLink, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public void A_changed_prev_hash_is_reported_at_its_version()
    {
        var events = Stream(7);
        events[4] = events[4] with { PrevHash = FlipByte(events[4].PrevHash, 31) };

        var report = StreamVerifier.Verify(events);

        Assert.Equal(4, report.FirstBrokenVersion);
        Assert.All(report.Problems, p => Assert.Equal(4, p.Version));
        Assert.Contains(report.Problems, p => p.Code == VerificationCodes.BrokenLink);
    }

    [Fact]
    public void Version_0_must_link_to_the_genesis()
    {
        var events = Stream(3);
        var forged = events[0] with { PrevHash = FlipByte(events[0].PrevHash) };
        events[0] = forged with { Hash = HashChain.ComputeHash(forged) };

        var report = StreamVerifier.Verify(events);

        Assert.Equal(0, report.FirstBrokenVersion);
        Assert.Contains(report.Problems, p => p is { Version: 0, Code: VerificationCodes.BrokenLink });
    }

    [Fact]
    public void An_event_deleted_in_the_middle_is_reported_at_the_missing_version()
    {
        var events = Stream(7);
        events.RemoveAt(3);

        var report = StreamVerifier.Verify(events);

        Assert.Equal(3, report.FirstBrokenVersion);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((3L, VerificationCodes.MissingEvent), (problem.Version, problem.Code));
    }

    [Fact]
    public void Deleting_the_first_events_is_reported_at_version_0()
    {
        var report = StreamVerifier.Verify(Stream(5).Skip(2));

        Assert.Equal(0, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.MissingEvent, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public void Two_events_read_in_swapped_order_are_reported_at_the_first_of_them()
    {
        var events = Stream(6);
        (events[2], events[3]) = (events[3], events[2]);

        var report = StreamVerifier.Verify(events);

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Equal(
            [(2L, VerificationCodes.MissingEvent), (2L, VerificationCodes.VersionOutOfOrder)],
            report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public void Two_events_swapped_under_each_others_versions_are_reported_at_the_first_of_them()
    {
        var events = Stream(6);
        (events[2], events[3]) = (events[3] with { Version = 2 }, events[2] with { Version = 3 });

        var report = StreamVerifier.Verify(events);

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Contains(report.Problems, p => p is { Version: 2, Code: VerificationCodes.HashMismatch });
        Assert.Contains(report.Problems, p => p is { Version: 2, Code: VerificationCodes.BrokenLink });
    }

    [Fact]
    public void A_duplicated_event_is_out_of_order()
    {
        var events = Stream(4);
        events.Insert(2, events[1]);

        var report = StreamVerifier.Verify(events);

        Assert.Equal(1, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.VersionOutOfOrder, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public void An_event_of_another_stream_is_reported()
    {
        var events = Stream(4);
        events.Insert(2, Stream(3, "patient-2")[2]);

        var report = StreamVerifier.Verify(events);

        Assert.Equal(VerificationCodes.WrongStream, Assert.Single(report.Problems).Code);
        Assert.False(StreamVerifier.Verify(Stream(2), new StreamVerifierOptions { StreamId = "patient-2" }).Verified);
    }

    /// <summary>
    /// The limit of a per-stream chain, made explicit: cutting events off the end leaves a valid, shorter
    /// chain. Only the signed ledger checkpoints (docs/architecture.md, "The ledger") can show the stream was longer.
    /// </summary>
    [Fact]
    public void Deleting_the_last_event_is_not_detectable_by_the_chain_alone()
    {
        var events = Stream(7);
        events.RemoveAt(6);

        var report = StreamVerifier.Verify(events);

        Assert.True(report.Verified);
        Assert.Equal(6, report.Events);
    }

    [Fact]
    public void Problems_are_bounded_but_the_first_broken_version_stays_exact()
    {
        var events = Stream(50);
        for (var i = 10; i < 50; i++) events[i] = events[i] with { Data = FlipByte(events[i].Data) };

        var report = StreamVerifier.Verify(events, new StreamVerifierOptions { MaxProblems = 5 });

        Assert.Equal(10, report.FirstBrokenVersion);
        Assert.Equal(5, report.Problems.Count);
        Assert.True(report.Truncated);
    }

    [Fact]
    public async Task Streams_are_verified_without_holding_them_and_report_progress()
    {
        var progress = new List<long>();
        var options = new StreamVerifierOptions { Progress = progress.Add, ProgressInterval = 1_000 };

        var report = await StreamVerifier.VerifyAsync(Generate(2_500), options);

        Assert.True(report.Verified);
        Assert.Equal(2_500, report.Events);
        Assert.Equal([1_000, 2_000, 2_500], progress);
    }

    [Fact]
    public async Task Cancellation_stops_verification()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => StreamVerifier.VerifyAsync(AsAsync(Stream(3)), null, cts.Token));
    }

    /// <summary>A long stream produced lazily: each event is linked to the last and then dropped.</summary>
    private static async IAsyncEnumerable<Application.Ports.EventEnvelope> Generate(int count)
    {
        var prev = HashChain.Genesis;
        for (var i = 0; i < count; i++)
        {
            var e = HashChain.Link("patient-1", i - 1, prev, [Proposed(i)], null)[0];
            prev = e.Hash;
            if (i % 100 == 0) await Task.Yield();
            yield return e;
        }
    }

    private static List<T> Replace<T>(List<T> list, int index, T item)
    {
        var copy = list.ToList();
        copy[index] = item;
        return copy;
    }
}
