using HealthEvents.Application.Commands;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Tests;

/// <summary>A stream read for a decision must reach the latest event the ledger took in of it (the end cannot be cut unseen).</summary>
public sealed class LedgeredTailTests
{
    private const string Stream = "patient-00000000-0000-0000-0000-000000000001";
    private static readonly byte[] Held = [.. Enumerable.Repeat((byte)7, 32)];
    private static readonly byte[] Other = [.. Enumerable.Repeat((byte)9, 32)];

    private static LedgeredEvent Leaf(long version, byte[] hash) => new(Stream, Guid.NewGuid(), version, 41, hash);

    /// <summary>What a fold read: <paramref name="hash"/> at <paramref name="version"/>, nothing else.</summary>
    private static Func<long, byte[]?> Read(long version, byte[] hash) => v => v == version ? hash : null;

    [Fact]
    public void A_stream_reaching_the_ledgers_latest_leaf_or_past_it_is_decided_on()
    {
        LedgeredTail.Check(Stream, 5, Read(5, Held), null);            // the ledger has none of it yet
        LedgeredTail.Check(Stream, 5, Read(5, Held), Leaf(3, Other));  // appended since; version 3 folded by an earlier load
        LedgeredTail.Check(Stream, 5, Read(3, Held), Leaf(3, Held));   // folded through the leaf, the same event
        LedgeredTail.Check(Stream, 5, Read(5, Held), Leaf(5, Held));   // its very event
    }

    [Fact]
    public void A_stream_ending_before_the_ledgers_latest_leaf_was_cut()
    {
        var cut = Assert.Throws<DamagedStreamException>(() => LedgeredTail.Check(Stream, 4, Read(4, Held), Leaf(5, Other)));

        Assert.True(cut.Hidden);
        Assert.Equal(5, cut.Version);
        Assert.Contains("missing-event", cut.Message);
    }

    [Fact]
    public void A_stream_serving_nothing_that_the_ledger_saw_was_deleted()
    {
        var gone = Assert.Throws<DamagedStreamException>(() => LedgeredTail.Check(Stream, -1, Read(-1, Held), Leaf(0, Held)));

        Assert.True(gone.Hidden);
        Assert.Equal(0, gone.Version);
    }

    [Theory]
    [InlineData(5)] // the last event replaced
    [InlineData(8)] // an earlier one: the chain read on from it, every hash recomputed
    public void Another_event_at_the_ledgers_latest_version_is_a_ledger_mismatch(long foldedTo)
    {
        var replaced = Assert.Throws<DamagedStreamException>(() => LedgeredTail.Check(Stream, foldedTo, Read(5, Other), Leaf(5, Held)));

        Assert.False(replaced.Hidden);
        Assert.Equal(5, replaced.Version);
        Assert.Contains("ledger-mismatch", replaced.Message);
    }
}
