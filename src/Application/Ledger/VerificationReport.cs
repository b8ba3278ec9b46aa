namespace HealthEvents.Application.Ledger;

/// <summary>
/// The outcome of verifying one stream. <see cref="FirstBrokenVersion"/> is the lowest version at which
/// anything was wrong (null when verified); <see cref="Problems"/> lists what was found, in reading order,
/// bounded so a badly damaged store cannot exhaust memory (<see cref="Truncated"/> says more were found).
/// </summary>
public sealed record VerificationReport(
    bool Verified,
    long Events,
    long? FirstBrokenVersion,
    IReadOnlyList<VerificationProblem> Problems,
    bool Truncated = false);

/// <summary>One thing wrong at one position. Messages name positions and hashes, never content.</summary>
public sealed record VerificationProblem(string StreamId, long Version, string Code, string Message);

/// <summary>Stable problem codes: the API, the CLI and the patient page show and match on them.</summary>
public static class VerificationCodes
{
    /// <summary>The stored hash is not the hash of the stored bytes: the event was altered.</summary>
    public const string HashMismatch = "hash-mismatch";

    /// <summary>prevHash is not the previous event's hash (or not the genesis at version 0).</summary>
    public const string BrokenLink = "broken-link";

    /// <summary>Versions jump forward: events were deleted (reported at the first missing version).</summary>
    public const string MissingEvent = "missing-event";

    /// <summary>
    /// The stream no longer serves events the global log holds: reads of it start later or find nothing (EventStoreDB's
    /// truncate-before or a delete, which hide events from stream reads while $all keeps them until a scavenge).
    /// Reported at version 0, the first version a reader of the stream can no longer see.
    /// </summary>
    public const string StreamTruncated = "stream-truncated";

    /// <summary>
    /// The stream's event at a version the ledger took in is not the one it took in (another id or hash), or the latest
    /// signed tree head does not prove the stream's latest ledgered event (<see cref="LedgerCoverage"/>).
    /// </summary>
    public const string LedgerMismatch = "ledger-mismatch";

    /// <summary>A version at or below one already seen: events reordered or duplicated.</summary>
    public const string VersionOutOfOrder = "version-out-of-order";

    /// <summary>An event of another stream inside this one.</summary>
    public const string WrongStream = "wrong-stream";

    /// <summary>An event's endorsement does not describe a transaction that contains it.</summary>
    public const string TransactionBoundary = "transaction-boundary";

    /// <summary>A transaction's endorsement announces more events than the stream holds.</summary>
    public const string IncompleteTransaction = "incomplete-transaction";

    // Endorsement (reported by the endorsement checker, at the first version carrying the endorsement at fault).

    /// <summary>A transaction carries no endorsement (only the network's genesis may).</summary>
    public const string Unendorsed = "unendorsed";

    /// <summary>The signed root does not cover the transaction hash: not equal to it (batch of one), or the inclusion path fails.</summary>
    public const string BadInclusionPath = "bad-inclusion-path";

    /// <summary>A signature names a hospital that was not a member at the transaction's time.</summary>
    public const string UnknownEndorser = "unknown-endorser";

    /// <summary>A signature names a key that was not the hospital's endorsement key at the transaction's time.</summary>
    public const string WrongKey = "wrong-key";

    /// <summary>A signature does not verify under the key it names.</summary>
    public const string BadSignature = "bad-signature";

    /// <summary>The hospitals whose signatures verify do not satisfy the endorsement policy in force at the time.</summary>
    public const string PolicyNotMet = "policy-not-met";

    /// <summary>
    /// A transaction stamped earlier than the global log allows: more than <see cref="Endorsement.EndorsementChecker.BackdateTolerance"/>
    /// before the latest endorsed ledger tree head stored ahead of it (<see cref="TransactionToCheck.StoredAfter"/>). Its
    /// writer chose its time; its place in the log it could not. Judged, for keys, members and policy, as of the earliest
    /// time an honest transaction stored there could carry. <c>verify</c> reads the global order; the per-stream verifiers
    /// the ledger view's index of it (<see cref="StoredAfterChecker"/>, and verify.js).
    /// </summary>
    public const string Backdated = "backdated";

    /// <summary>An intact event's metadata cannot be read, so the time its endorsement is judged at is unknown.</summary>
    public const string UnreadableMetadata = "unreadable-metadata";

    /// <summary>
    /// The network stream's version 0 (its founding, which nothing endorses) is not the one this node pinned
    /// (<see cref="Network.NetworkGenesisPin"/>): the keys and policies everything else is judged by are someone else's.
    /// </summary>
    public const string GenesisMismatch = "genesis-mismatch";

    // The patient's own signatures (PatientSignatureChecker; the page's verify.js uses the same codes).

    /// <summary>A device key enrolled or replaced does not prove itself: its id is not its key's, or its proof does not verify.</summary>
    public const string BadDeviceKey = "bad-device-key";

    /// <summary>A patient.command-signed.v1 does not verify under the device key of its time over the command just before it.</summary>
    public const string BadPatientSignature = "bad-patient-signature";

    /// <summary>A consent change or forgetting after a device key was enrolled, without the patient's signature right after it (reported where it belongs).</summary>
    public const string Unsigned = "unsigned";

    /// <summary>A patient stream under another spelling of a patient id (or a registration for another patient): nobody's stream, never endorsed.</summary>
    public const string NonCanonicalStream = "non-canonical-stream";
}
