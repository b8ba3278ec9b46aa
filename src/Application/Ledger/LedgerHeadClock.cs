using HealthEvents.Application.Serialization;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Reading the global log in order, the time of the latest endorsed tree head met so far (docs/architecture.md,
/// "Verification"): a head is stamped by the ledger builder and endorsed only by hospitals whose clocks agree with its time
/// (within <see cref="Endorsement.EndorsementOptions.MaxClockSkew"/>), so whatever the log holds after it was stored after
/// that time, whatever its own metadata claims. A head counts once its own transaction verified: intact chain, no
/// endorsement problem. One instance per pass; not thread-safe.
/// </summary>
internal sealed class LedgerHeadClock
{
    private DateTimeOffset? _latest;

    /// <summary><paramref name="transaction"/> as stored after the heads met so far.</summary>
    public TransactionToCheck Date(TransactionToCheck transaction) =>
        _latest is null ? transaction : transaction with { StoredAfter = _latest };

    /// <summary>Takes in a transaction the checker has judged: an intact, endorsed head of the ledger stream moves the clock forward.</summary>
    public void Checked(TransactionToCheck transaction, IReadOnlyList<VerificationProblem> problems)
    {
        if (transaction.StreamId != LedgerStream.StreamId || !transaction.ChainIntact || problems.Count > 0) return;
        DateTimeOffset at;
        try
        {
            at = EventMetadata.FromBytes(transaction.Events[^1].Metadata).OccurredAt;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return; // the checker reported it (unreadable-metadata) already
        }
        if (_latest is null || at > _latest) _latest = at;
    }
}
