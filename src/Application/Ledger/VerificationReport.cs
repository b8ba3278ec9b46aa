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

    /// <summary>A version at or below one already seen: events reordered or duplicated.</summary>
    public const string VersionOutOfOrder = "version-out-of-order";

    /// <summary>An event of another stream inside this one.</summary>
    public const string WrongStream = "wrong-stream";

    /// <summary>An event's endorsement does not describe a transaction that contains it.</summary>
    public const string TransactionBoundary = "transaction-boundary";

    /// <summary>A transaction's endorsement announces more events than the stream holds.</summary>
    public const string IncompleteTransaction = "incomplete-transaction";
}
