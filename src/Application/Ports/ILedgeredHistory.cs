using HealthEvents.Application.Ledger;

namespace HealthEvents.Application.Ports;

/// <summary>
/// This node's own record of what the ledger has taken in (docs/architecture.md, "The ledger"): the leaves of the global
/// tree, kept by the ledger projection. A stream's chain cannot show that events were cut off its end; this record can,
/// because an event the ledger took in must still be served at its version with the same hash.
/// </summary>
public interface ILedgeredHistory
{
    /// <summary>
    /// The latest version of <paramref name="streamId"/> the ledger has taken in as a leaf, with its hash then (32 bytes),
    /// or null when it has taken in none of the stream yet. One indexed read.
    /// </summary>
    Task<LedgeredEvent?> LatestLeafAsync(string streamId, CancellationToken ct = default);

    /// <summary>The leaf the ledger took in for <paramref name="version"/> of <paramref name="streamId"/>, or null when it has none. One indexed read.</summary>
    Task<LedgeredEvent?> LeafAtAsync(string streamId, long version, CancellationToken ct = default);

    /// <summary>The leaf at <paramref name="leafIndex"/> of the global tree (0-based), or null when the view holds none there. One indexed read.</summary>
    Task<LedgeredEvent?> LeafAtIndexAsync(long leafIndex, CancellationToken ct = default);

    /// <summary>How many leaves the view has taken in (the next leaf's index).</summary>
    Task<long> SizeAsync(CancellationToken ct = default);

    /// <summary>
    /// The RFC 9162 §2.1.3 inclusion path (32-byte hashes, from the leaf's sibling up) of leaf <paramref name="leafIndex"/>
    /// in the tree of its first <paramref name="treeSize"/> leaves, as the view's stored subtrees give it; null when the view
    /// lacks one of them. The view's word: the caller verifies it against a signed root (<see cref="LedgerAnchors"/>).
    /// </summary>
    Task<IReadOnlyList<byte[]>?> InclusionPathAsync(long leafIndex, long treeSize, CancellationToken ct = default);
}
