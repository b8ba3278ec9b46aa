using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>The outcome of recomputing a signed tree head from the event store.</summary>
/// <param name="LeavesFound">Leaves the store holds, up to the head's size (fewer: events are missing at the end, or everywhere).</param>
/// <param name="Genesis">The problem with the network's founding the log holds (not the one this node pinned), or null.</param>
public sealed record LedgerCheck(bool Verified, long TreeSize, long LeavesFound, string SignedRoot, string RecomputedRoot, VerificationProblem? Genesis = null);

/// <summary>
/// Recomputes a tree head from the event store itself — the stored hashes of the first <c>treeSize</c> events of the
/// global log, the ledger stream's own excluded — and compares its root with the signed one. A dropped, inserted,
/// reordered or altered event before that size changes the root. A head re-signed over a rewritten log matches it, so
/// the network's founding met on the way must also be the one this node pinned (<see cref="NetworkGenesisPin"/>): the
/// keys that signed the head descend from it.
/// </summary>
public sealed class LedgerVerifier(IEventStore store, NetworkGenesisPin? genesis = null)
{
    public const int BatchSize = 1000;

    /// <summary>Streams the global log once, in constant memory: only the tree's right edge is kept.</summary>
    public async Task<LedgerCheck> VerifyAsync(long treeSize, byte[] signedRoot, CancellationToken ct = default)
    {
        var frontier = new MerkleFrontier();
        VerificationProblem? founding = null;
        GlobalPosition? after = null;
        while (frontier.Size < treeSize)
        {
            var batch = await store.ReadAllAsync(after, BatchSize, ct);
            if (batch.Count == 0) break;
            foreach (var e in batch)
            {
                if (!LedgerStream.IsLeaf(e.StreamId)) continue;
                if (e.StreamId == NetworkStream.StreamId) founding ??= genesis?.Check(e); // the founding's pinned last event
                frontier.Append(e.Hash);
                if (frontier.Size == treeSize) break;
            }
            after = batch[^1].Position;
        }
        var root = frontier.Root();
        return new LedgerCheck(
            founding is null && frontier.Size == treeSize && root.AsSpan().SequenceEqual(signedRoot),
            treeSize, frontier.Size, Convert.ToHexStringLower(signedRoot), Convert.ToHexStringLower(root), founding);
    }
}
