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
}
