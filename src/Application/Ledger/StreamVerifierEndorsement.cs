using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Checks the endorsement of one transaction: each signature against the hospital key valid at the time,
/// the Merkle inclusion path of a batch, and that the endorsement policy was met. The verifier owns the
/// chain and the transaction boundaries; the checker owns everything about signatures and policy.
/// </summary>
public interface IEndorsementChecker
{
    /// <summary>Problems found (empty when the endorsement is valid). Report at the transaction's versions.</summary>
    ValueTask<IReadOnlyList<VerificationProblem>> CheckAsync(TransactionToCheck transaction, CancellationToken ct);

    /// <summary>
    /// Called once the stream's last event was read (after its last transaction was checked): what only the end of a
    /// stream shows, such as a patient's consent change still awaiting its signature. None by default.
    /// </summary>
    IReadOnlyList<VerificationProblem> StreamEnded(string streamId) => [];
}

/// <summary>
/// A complete transaction as read: its events in version order. <see cref="Endorsement"/> is the one carried
/// by the last event (null when the events were stored unendorsed — the checker decides whether that is
/// allowed); <see cref="TransactionHash"/> is that last event's stored hash, which the signatures cover.
/// Handed to the checker only after the chain checks ran, so <see cref="ChainIntact"/> says whether the
/// hash it is about to check signatures over is itself trustworthy.
/// </summary>
public sealed record TransactionToCheck(
    string StreamId,
    IReadOnlyList<EventEnvelope> Events,
    bool ChainIntact)
{
    /// <summary>
    /// Part of the network's founding, which nobody endorses (decided by the stream verifier from the pinned founding,
    /// <see cref="Network.NetworkFounding"/>): its signatures, if any, are checked, but no policy is required.
    /// </summary>
    public bool Founding { get; init; }

    /// <summary>
    /// The metadata OccurredAt of the latest endorsed tree head (<see cref="LedgerStream"/>) the global log holds before this
    /// transaction's last event: no honest transaction stored after that head is stamped much earlier (see
    /// <see cref="VerificationCodes.Backdated"/>): from the global log's order (<see cref="StoreVerifier"/>), or, for one stream
    /// read alone, from the ledger view's index of it (<see cref="StoredAfterChecker"/>). Null when no endorsed head came
    /// before, or none is known.
    /// </summary>
    public DateTimeOffset? StoredAfter { get; init; }

    public long FirstVersion => Events[0].Version;
    public long LastVersion => Events[^1].Version;
    public byte[] TransactionHash => Events[^1].Hash;
}
