using HealthEvents.Application.EventStore;

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

    public async Task<LedgerCheck> VerifyAsync(long treeSize, byte[] signedRoot, CancellationToken ct = default)
    {
        var leaves = await LeavesAsync(store, treeSize, ct);
        var root = MerkleTree.Root(leaves);
        return new LedgerCheck(
            leaves.Count == treeSize && root.AsSpan().SequenceEqual(signedRoot),
            treeSize, leaves.Count, Convert.ToHexStringLower(signedRoot), Convert.ToHexStringLower(root));
    }

    /// <summary>The leaves (stored event hashes) of the first <paramref name="treeSize"/> events of the global log that are leaves.</summary>
    public static async Task<List<byte[]>> LeavesAsync(IEventStore store, long treeSize, CancellationToken ct)
    {
        var leaves = new List<byte[]>();
        GlobalPosition? after = null;
        while (leaves.Count < treeSize)
        {
            var batch = await store.ReadAllAsync(after, BatchSize, ct);
            if (batch.Count == 0) break;
            foreach (var e in batch)
            {
                if (!LedgerCommands.IsLeaf(e.StreamId)) continue;
                leaves.Add(e.Hash);
                if (leaves.Count == treeSize) break;
            }
            after = batch[^1].Position;
        }
        return leaves;
    }
}
