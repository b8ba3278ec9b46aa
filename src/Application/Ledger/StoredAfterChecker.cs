namespace HealthEvents.Application.Ledger;

/// <summary>
/// The endorsement checker of one stream verified on its own, with each transaction dated by the ledger as <c>verify</c>'s
/// pass over the global log dates it (docs/architecture.md, "Verification", point 5): the time of the latest endorsed tree
/// head stored before the transaction's last event, found beforehand by version (<see cref="TransactionToCheck.StoredAfter"/>).
/// Transactions of other streams, and versions without a date, go to <paramref name="inner"/> as they are.
/// </summary>
/// <param name="storedAfter">By version of <paramref name="streamId"/>: the time of the latest verified head stored before it.</param>
public sealed class StoredAfterChecker(IEndorsementChecker inner, string streamId, IReadOnlyDictionary<long, DateTimeOffset> storedAfter)
    : IEndorsementChecker
{
    public ValueTask<IReadOnlyList<VerificationProblem>> CheckAsync(TransactionToCheck transaction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return inner.CheckAsync(transaction.StreamId == streamId && storedAfter.TryGetValue(transaction.LastVersion, out var at)
            ? transaction with { StoredAfter = at }
            : transaction, ct);
    }

    public IReadOnlyList<VerificationProblem> StreamEnded(string streamId) => inner.StreamEnded(streamId);
}
