using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>The outcome of recomputing a signed tree head from the event store.</summary>
/// <param name="LeavesFound">Leaves the store holds, up to the head's size (fewer: events are missing at the end, or everywhere).</param>
public sealed record LedgerCheck(bool Verified, long TreeSize, long LeavesFound, string SignedRoot, string RecomputedRoot);

/// <summary>
/// Recomputes a tree head from the event store itself — the stored hashes of the first <c>treeSize</c> events of the
/// global log, the ledger stream's own excluded — and compares its root with the signed one. A dropped, inserted,
/// reordered or altered event before that size changes the root.
/// </summary>
public sealed class LedgerVerifier(IEventStore store)
{
    public const int BatchSize = 1000;

    /// <summary>Streams the global log once, in constant memory: only the tree's right edge is kept.</summary>
    public async Task<LedgerCheck> VerifyAsync(long treeSize, byte[] signedRoot, CancellationToken ct = default)
    {
        var frontier = new MerkleFrontier();
        GlobalPosition? after = null;
        while (frontier.Size < treeSize)
        {
            var batch = await store.ReadAllAsync(after, BatchSize, ct);
            if (batch.Count == 0) break;
            foreach (var e in batch)
            {
                if (!LedgerStream.IsLeaf(e.StreamId)) continue;
                frontier.Append(e.Hash);
                if (frontier.Size == treeSize) break;
            }
            after = batch[^1].Position;
        }
        var root = frontier.Root();
        return new LedgerCheck(
            frontier.Size == treeSize && root.AsSpan().SequenceEqual(signedRoot),
            treeSize, frontier.Size, Convert.ToHexStringLower(signedRoot), Convert.ToHexStringLower(root));
    }
}
