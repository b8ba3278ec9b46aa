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
    /// Whether a fold that ended at <paramref name="version"/> (-1: nothing served) reaches the ledger's latest leaf of the
    /// stream (null: the ledger holds none): the leaf is at or before that version, and, where this fold read the event at
    /// the leaf's version (<paramref name="hashAt"/>: the hash it read there, null when the event was folded earlier), it is
    /// the event the ledger took in. Since every hash covers the previous one, a stream rewritten anywhere up to the leaf,
    /// its hashes recomputed, fails at the leaf.
    /// </summary>
    public static bool Reaches(long version, Func<long, byte[]?> hashAt, LedgeredEvent? leaf) =>
        leaf is null || (leaf.Version <= version && (hashAt(leaf.Version) is not { } held || held.AsSpan().SequenceEqual(leaf.Hash)));

    /// <summary>
    /// <see cref="Reaches(long, Func{long, byte[]}, LedgeredEvent)"/> for a fold that ended at <paramref name="version"/>
    /// with hash <paramref name="lastHash"/>: the hash at the fold's own end is known even when an earlier load read it.
    /// </summary>
    public static Func<long, byte[]?> HashAt(long version, byte[] lastHash, IReadOnlyDictionary<long, byte[]> seen) =>
        v => seen.TryGetValue(v, out var hash) ? hash : v == version ? lastHash : null;

    /// <summary>Checks that the stream as folded reaches the ledger's latest leaf of it (<see cref="Reaches"/>).</summary>
    /// <exception cref="DamagedStreamException">It ends before the leaf (<see cref="DamagedStreamException.Hidden"/>,
    /// missing-event at the first version gone), or holds another event at the leaf's version (ledger-mismatch).</exception>
    public static void Check(string streamId, long version, Func<long, byte[]?> hashAt, LedgeredEvent? leaf)
    {
        if (Reaches(version, hashAt, leaf)) return;
        if (leaf!.Version > version)
            throw new DamagedStreamException(streamId, version + 1, hidden: true,
                reason: $"ends at version {version}, though the ledger took in version {leaf.Version} (leaf {leaf.LeafIndex}): versions {version + 1} on are not served (missing-event)");
        throw new DamagedStreamException(streamId, leaf.Version,
            reason: $"holds at version {leaf.Version} another event than the ledger took in (leaf {leaf.LeafIndex}) (ledger-mismatch)", ledgerMismatch: true);
    }
}
