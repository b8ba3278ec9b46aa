using HealthEvents.Application.Ports;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Groups a stream's events into transactions by the boundary their endorsement declares (first version,
/// event count) and reports where the stored events contradict it. An endorsement is not covered by the
/// hash chain, so the boundary here is a claim; its signatures (over the last event's hash) are what the
/// endorsement checker verifies. Events stored without an endorsement each form a transaction of one.
/// </summary>
internal sealed class StreamVerifierTransactions(bool collectEvents, Action<VerificationProblem> report)
{
    private TransactionEndorsement? _open;
    private long _openLastSeen;
    private bool _openIntact;
    private List<EventEnvelope>? _openEvents;

    public TransactionToCheck? Accept(string streamId, EventEnvelope e, bool intact, long? gapFrom)
    {
        var endorsement = e.Endorsement;
        if (_open is not null && (endorsement is null || !SameTransaction(_open, endorsement) || e.Version >= End(_open)))
            CloseIncomplete(streamId);

        if (_open is null)
        {
            if (endorsement is null) return Complete(streamId, [e], intact);
            var inRange = endorsement.EventCount > 0 && e.Version >= endorsement.FirstVersion && e.Version < End(endorsement);
            // A transaction whose head was deleted is already reported as missing; anything else is a false boundary.
            var headLost = inRange && gapFrom is { } g && g <= endorsement.FirstVersion;
            if (e.Version != endorsement.FirstVersion && !headLost)
            {
                report(new(streamId, e.Version, TransactionBoundary,
                    $"Version {e.Version} carries an endorsement of versions {endorsement.FirstVersion} to {End(endorsement) - 1}."));
                intact = false;
            }
            if (!inRange) return Complete(streamId, [e], intact);
            _open = endorsement;
            _openIntact = true;
            _openEvents = collectEvents ? [] : null;
        }

        _openLastSeen = e.Version;
        _openIntact &= intact;
        _openEvents?.Add(e);
        if (e.Version < End(_open) - 1) return null;

        var events = _openEvents;
        var transactionIntact = _openIntact;
        _open = null;
        _openEvents = null;
        return events is null ? null : Complete(streamId, events, transactionIntact);
    }

    /// <summary>At the end of the stream, a transaction still open was cut short.</summary>
    public void Finish(string streamId)
    {
        if (_open is not null) CloseIncomplete(streamId);
    }

    private void CloseIncomplete(string streamId)
    {
        report(new(streamId, _openLastSeen + 1, IncompleteTransaction,
            $"The transaction of versions {_open!.FirstVersion} to {End(_open) - 1} ends at version {_openLastSeen}."));
        _open = null;
        _openEvents = null;
    }

    private TransactionToCheck? Complete(string streamId, IReadOnlyList<EventEnvelope> events, bool intact) =>
        collectEvents ? new TransactionToCheck(streamId, events, intact) : null;

    private static long End(TransactionEndorsement t) => t.FirstVersion + t.EventCount;

    private static bool SameTransaction(TransactionEndorsement a, TransactionEndorsement b) =>
        ReferenceEquals(a, b) ||
        (a.FirstVersion == b.FirstVersion && a.EventCount == b.EventCount && a.SignedRoot.AsSpan().SequenceEqual(b.SignedRoot));
}
