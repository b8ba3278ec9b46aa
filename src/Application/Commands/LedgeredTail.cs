using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Commands;

/// <summary>
/// A stream read for a decision must reach at least as far as the ledger has seen it (<see cref="ILedgeredHistory"/>):
/// events cut off a stream's end past the service — a patient's revocation deleted after the ledger took it in — leave a
/// chain that still holds from version 0, and a node folding only what is served would decide on the history as it was
/// before (the consent active again). The ledger's leaf is the witness the stream cannot remove.
/// </summary>
public static class LedgeredTail
{
    /// <summary>
    /// Whether a fold that ended at <paramref name="version"/> (-1: nothing served) with hash <paramref name="lastHash"/>
    /// reaches the ledger's latest leaf of the stream (null: the ledger holds none): the leaf is an earlier version, or
    /// this very event.
    /// </summary>
    public static bool Reaches(long version, ReadOnlySpan<byte> lastHash, LedgeredEvent? leaf) =>
        leaf is null || leaf.Version < version || (leaf.Version == version && lastHash.SequenceEqual(leaf.Hash));

    /// <summary>Checks that the stream as folded reaches the ledger's latest leaf of it (<see cref="Reaches"/>).</summary>
    /// <exception cref="DamagedStreamException">It ends before the leaf (<see cref="DamagedStreamException.Hidden"/>,
    /// missing-event at the first version gone), or holds another event at the leaf's version (ledger-mismatch).</exception>
    public static void Check(string streamId, long version, ReadOnlySpan<byte> lastHash, LedgeredEvent? leaf)
    {
        if (Reaches(version, lastHash, leaf)) return;
        if (leaf!.Version > version)
            throw new DamagedStreamException(streamId, version + 1, hidden: true,
                reason: $"ends at version {version}, though the ledger took in version {leaf.Version} (leaf {leaf.LeafIndex}): versions {version + 1} on are not served (missing-event)");
        throw new DamagedStreamException(streamId, leaf.Version,
            reason: $"holds at version {leaf.Version} another event than the ledger took in (leaf {leaf.LeafIndex}) (ledger-mismatch)");
    }
}
