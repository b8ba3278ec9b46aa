using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>
/// What a stream's chain cannot see and the ledger can: events cut off its end, or an end rewritten into another
/// self-consistent chain. The global tree here holds another stream's events between the patient's, as the log does.
/// </summary>
public sealed class LedgerCoverageTests
{
    private const string Patient = "patient-1";
    private readonly List<EventEnvelope> _stream = Chains.Stream(5, Patient);
    private readonly List<EventEnvelope> _other = Chains.Stream(5, "patient-2");

    /// <summary>The global log: the two streams' events interleaved, and the leaves the ledger took of them.</summary>
    private (List<LedgeredEvent> Leaves, List<byte[]> Hashes) Ledger()
    {
        var log = _stream.Zip(_other).SelectMany(p => new[] { p.First, p.Second }).ToList();
        return ([.. log.Select((e, i) => new LedgeredEvent(e.StreamId, e.EventId, e.Version, i, e.Hash))], [.. log.Select(e => e.Hash)]);
    }

    private static SignedInclusion Proof(List<byte[]> hashes, long leafIndex) =>
        new(hashes.Count, MerkleTree.Root(hashes), MerkleTree.InclusionPath(leafIndex, hashes));

    [Fact]
    public void An_intact_stream_proven_under_the_signed_head_has_no_problem()
    {
        var (leaves, hashes) = Ledger();
        Assert.Empty(LedgerCoverage.Check(Patient, _stream, leaves, Proof(hashes, 8)));
    }

    [Fact]
    public void A_tail_cut_off_is_missing_from_its_first_version_gone()
    {
        var (leaves, hashes) = Ledger();
        var problems = LedgerCoverage.Check(Patient, _stream[..3], leaves, Proof(hashes, 8));
        Assert.Equal([(3L, VerificationCodes.MissingEvent), (4L, VerificationCodes.MissingEvent)], problems.Select(p => (p.Version, p.Code)));
        // Its own chain is intact: only the ledger tells.
        Assert.True(StreamVerifier.Verify(_stream[..3]).Verified);
    }

    [Fact]
    public void Before_any_tree_head_the_view_witnesses_a_tail_cut_off_or_the_whole_stream_deleted()
    {
        // No leaves yet: only the audit view, which applied up to version 4, saw the stream longer.
        Assert.Equal([(3L, VerificationCodes.MissingEvent)],
            LedgerCoverage.Check(Patient, _stream[..3], [], null, viewedUpTo: 4).Select(p => (p.Version, p.Code)));
        Assert.Equal([(0L, VerificationCodes.StreamTruncated)],
            LedgerCoverage.Check(Patient, [], [], null, viewedUpTo: 4).Select(p => (p.Version, p.Code)));
        Assert.Empty(LedgerCoverage.Check(Patient, _stream, [], null, viewedUpTo: 4));
        // Both witnesses: one problem per version, the view's first.
        var (leaves, hashes) = Ledger();
        Assert.Equal([(0L, VerificationCodes.StreamTruncated), (1L, VerificationCodes.MissingEvent)],
            LedgerCoverage.Check(Patient, [], leaves, Proof(hashes, 8), viewedUpTo: 4).Take(2).Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public void An_end_rewritten_into_another_chain_is_not_what_the_ledger_took_in()
    {
        var (leaves, hashes) = Ledger();
        var rewritten = _stream[..3].Concat(HashChain.Link(Patient, 2, _stream[2].Hash, [Chains.Proposed(30), Chains.Proposed(40)], null)).ToList();
        Assert.True(StreamVerifier.Verify(rewritten).Verified);
        var problems = LedgerCoverage.Check(Patient, rewritten, leaves, Proof(hashes, 8));
        Assert.Equal([(3L, VerificationCodes.LedgerMismatch), (4L, VerificationCodes.LedgerMismatch)], problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public void A_signed_head_that_does_not_prove_the_last_ledgered_event_is_a_mismatch_there()
    {
        var (leaves, hashes) = Ledger();
        // The proof of another leaf, offered for the patient's last (leaf 8).
        var wrong = Proof(hashes, 6);
        var problems = LedgerCoverage.Check(Patient, _stream, leaves, wrong);
        Assert.Equal([(4L, VerificationCodes.LedgerMismatch)], problems.Select(p => (p.Version, p.Code)));
        // A head that covers only part of the log proves the last leaf it covers: version 2 (leaf 4) under a head of 6 leaves.
        var smaller = hashes[..6];
        Assert.Empty(LedgerCoverage.Check(Patient, _stream, leaves, new SignedInclusion(6, MerkleTree.Root(smaller), MerkleTree.InclusionPath(4, smaller))));
    }

    [Fact]
    public void Over_a_whole_store_each_streams_ledgered_end_is_looked_for_in_the_one_pass()
    {
        var (leaves, _) = Ledger();
        var latest = leaves.GroupBy(l => l.StreamId).ToDictionary(g => g.Key, g => g.MaxBy(l => l.Version)!);
        var tails = new LedgerTails(latest);
        foreach (var e in _stream[..4].Concat(_other)) tails.Observe(e);
        var report = tails.AddTo(new StoreVerificationReport(true, 9, 2, 0, [], TimeSpan.Zero));
        Assert.False(report.Verified);
        Assert.Equal(1, report.BrokenStreamCount);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((Patient, 4L, VerificationCodes.MissingEvent), (problem.StreamId, problem.Version, problem.Code));
    }
}
