using HealthEvents.Application.Ledger;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>The seam for endorsement checks: transactions reach the checker whole, with their boundaries checked.</summary>
public sealed class StreamVerifierEndorsementTests
{
    private sealed class RecordingChecker(Func<TransactionToCheck, IReadOnlyList<VerificationProblem>>? verdict = null) : IEndorsementChecker
    {
        public List<TransactionToCheck> Seen { get; } = [];

        public ValueTask<IReadOnlyList<VerificationProblem>> CheckAsync(TransactionToCheck transaction, CancellationToken ct)
        {
            Seen.Add(transaction);
            return ValueTask.FromResult(verdict?.Invoke(transaction) ?? []);
        }
    }

    [Fact]
    public async Task Each_transaction_reaches_the_checker_once_whole()
    {
        var events = EndorsedStream(2, 1, 3);
        var checker = new RecordingChecker();

        var report = await StreamVerifier.VerifyAsync(events, new StreamVerifierOptions { EndorsementChecker = checker });

        Assert.True(report.Verified);
        Assert.Equal([(0L, 1L), (2L, 2L), (3L, 5L)], checker.Seen.Select(t => (t.FirstVersion, t.LastVersion)));
        Assert.All(checker.Seen, t => Assert.True(t.ChainIntact));
        Assert.Equal(events[5].Hash, checker.Seen[2].TransactionHash);
    }

    [Fact]
    public async Task Unendorsed_events_reach_the_checker_as_transactions_of_one()
    {
        var checker = new RecordingChecker();

        await StreamVerifier.VerifyAsync(AsAsync(Stream(3)), new StreamVerifierOptions { EndorsementChecker = checker });

        Assert.Equal(3, checker.Seen.Count);
        Assert.All(checker.Seen, t => Assert.Null(t.Endorsement));
    }

    [Fact]
    public async Task The_checkers_problems_fail_verification()
    {
        var checker = new RecordingChecker(t => t.FirstVersion == 2
            ? [new VerificationProblem(t.StreamId, t.LastVersion, "endorsement-policy", "Only 1 of 3 hospitals signed.")]
            : []);

        var report = await StreamVerifier.VerifyAsync(EndorsedStream(2, 2), new StreamVerifierOptions { EndorsementChecker = checker });

        Assert.False(report.Verified);
        Assert.Equal(3, report.FirstBrokenVersion);
        Assert.Equal("endorsement-policy", Assert.Single(report.Problems).Code);
    }

    [Fact]
    public async Task A_transaction_with_an_altered_event_is_marked_as_not_intact()
    {
        var events = EndorsedStream(3);
        events[1] = events[1] with { Data = FlipByte(events[1].Data) };
        var checker = new RecordingChecker();

        await StreamVerifier.VerifyAsync(events, new StreamVerifierOptions { EndorsementChecker = checker });

        Assert.False(Assert.Single(checker.Seen).ChainIntact);
    }

    /// <summary>Unlike an unendorsed tail, an endorsed transaction announces its size, so cutting it short shows.</summary>
    [Fact]
    public void Cutting_the_end_off_an_endorsed_transaction_is_detected()
    {
        var events = EndorsedStream(2, 3);
        events.RemoveAt(4);

        var report = StreamVerifier.Verify(events);

        Assert.Equal(4, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.IncompleteTransaction, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public void An_endorsement_claiming_the_wrong_boundary_is_reported()
    {
        var events = EndorsedStream(2, 2);
        events[2] = events[2] with { Endorsement = events[0].Endorsement };

        var report = StreamVerifier.Verify(events);

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Contains(report.Problems, p => p.Code == VerificationCodes.TransactionBoundary);
    }

    [Fact]
    public void The_synchronous_verifier_refuses_a_checker() =>
        Assert.Throws<ArgumentException>(() =>
            StreamVerifier.Verify(Stream(1), new StreamVerifierOptions { EndorsementChecker = new RecordingChecker() }));
}
