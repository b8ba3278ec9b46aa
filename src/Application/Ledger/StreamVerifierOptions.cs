namespace HealthEvents.Application.Ledger;

/// <summary>How a stream is verified.</summary>
public sealed record StreamVerifierOptions
{
    public static readonly StreamVerifierOptions Default = new();

    /// <summary>Checks each transaction's endorsement (signatures, keys valid at the time, policy); null: chain only.</summary>
    public IEndorsementChecker? EndorsementChecker { get; init; }

    /// <summary>Called with the number of events verified so far, every <see cref="ProgressInterval"/> events and at the end.</summary>
    public Action<long>? Progress { get; init; }

    public int ProgressInterval { get; init; } = 10_000;

    /// <summary>
    /// Problems kept in the report. Past this only the count and the first broken version are tracked:
    /// one deleted event early in a long stream must not turn into a million-entry report.
    /// </summary>
    public int MaxProblems { get; init; } = 100;

    /// <summary>
    /// The network's founding this node trusts: version 0 of the network stream must be it (else <c>genesis-mismatch</c>),
    /// or is pinned on first sight. Null: the store's own version 0 is taken as the root of trust.
    /// </summary>
    public Network.NetworkGenesisPin? Genesis { get; init; }

    /// <summary>The stream expected; null: the stream of the first event read.</summary>
    public string? StreamId { get; init; }
}
