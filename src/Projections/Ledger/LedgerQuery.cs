using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using Marten;
using Marten.Services.BatchQuerying;

namespace HealthEvents.Projections.Ledger;

public sealed record LedgerCheckpointView(long TreeSize, string RootHash, DateTimeOffset At, IReadOnlyList<string> EndorsedBy, Guid EventId, long StreamVersion);

public sealed record InclusionProofView(long LeafIndex, long TreeSize, string LeafHash, IReadOnlyList<string> Path, string RootHash);

public sealed record ConsistencyProofView(long From, long To, string FromRoot, string ToRoot, IReadOnlyList<string> Proof);

/// <summary>Why a proof cannot be given.</summary>
public enum LedgerProofError { None, UnknownEvent, TreeSizeNotSigned, EventNotInTree, InvalidRange }

/// <summary>
/// Signed tree heads and proofs under them, from the ledger projection's leaves. Proofs are only given for signed sizes,
/// so a client verifies them against a root the hospitals endorsed. A proof reads only the O(log n) perfect subtree roots
/// RFC 9162's algorithms ask for (<see cref="MerkleTree.InclusionSubtrees"/>): stored <see cref="LedgerNode"/>s and
/// the leaves that stand alone, read in one batch with the signed heads (an inclusion proof first reads its leaf).
/// </summary>
public sealed class LedgerQuery(ReadModelStore readModels) : ILedgeredHistory
{
    public async Task<LedgerCheckpointView?> LatestAsync(CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var head = await session.Query<LedgerTreeHead>().Where(h => !h.BeyondLog).OrderByDescending(h => h.TreeSize).FirstOrDefaultAsync(ct);
        return head is null ? null : View(head);
    }

    /// <inheritdoc />
    public Task<LedgeredEvent?> LatestLeafAsync(string streamId, CancellationToken ct = default) => LastCoveredAsync(streamId, long.MaxValue, ct);

    /// <inheritdoc />
    public async Task<LedgeredEvent?> LeafAtAsync(string streamId, long version, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var leaf = await session.Query<LedgerLeaf>().Where(l => l.StreamId == streamId && l.StreamVersion == version).FirstOrDefaultAsync(ct);
        return leaf is null ? null : Ledgered(leaf);
    }

    /// <inheritdoc />
    public async Task<LedgeredEvent?> LeafAtIndexAsync(long leafIndex, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var leaf = await session.Query<LedgerLeaf>().Where(l => l.LeafIndex == leafIndex).FirstOrDefaultAsync(ct);
        return leaf is null ? null : Ledgered(leaf);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<byte[]>?> InclusionPathAsync(long leafIndex, long treeSize, CancellationToken ct = default)
    {
        if (leafIndex < 0 || leafIndex >= treeSize) return null;
        await using var session = await readModels.QuerySessionAsync(ct);
        try
        {
            return await PathAsync(session, leafIndex, treeSize, ct);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            return null; // a leaf or subtree the view lacks, or one that is not a hash: no path, which the caller reports
        }
    }

    /// <summary>The last event of <paramref name="streamId"/> among the first <paramref name="treeSize"/> leaves, if any (one query).</summary>
    public async Task<LedgeredEvent?> LastCoveredAsync(string streamId, long treeSize, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var leaf = await session.Query<LedgerLeaf>().Where(l => l.StreamId == streamId && l.LeafIndex < treeSize)
            .OrderByDescending(l => l.StreamVersion).FirstOrDefaultAsync(ct);
        return leaf is null ? null : Ledgered(leaf);
    }

    /// <summary>
    /// For each leaf index asked, the latest tree head the log stored before that leaf (by <see cref="LedgerTreeHead.LeafIndex"/>;
    /// of two at one place, the later in the ledger stream), or none: one round trip, one indexed lookup per leaf. The
    /// view's word only: the caller checks each head's stored event (<see cref="StoredAfterQuery"/>).
    /// </summary>
    public async Task<IReadOnlyDictionary<long, LedgerCheckpointView>> HeadsBeforeAsync(IReadOnlyCollection<long> leafIndexes, CancellationToken ct = default)
    {
        if (leafIndexes.Count == 0) return new Dictionary<long, LedgerCheckpointView>();
        await using var session = await readModels.QuerySessionAsync(ct);
        var batch = session.CreateBatchQuery();
        var reads = leafIndexes.Distinct().Select(leaf => (leaf, batch.Query<LedgerTreeHead>()
            .Where(h => h.LeafIndex != null && h.LeafIndex <= leaf && !h.BeyondLog)
            .OrderByDescending(h => h.LeafIndex).ThenByDescending(h => h.StreamVersion).FirstOrDefault())).ToList();
        await batch.Execute(ct);
        var heads = new Dictionary<long, LedgerCheckpointView>();
        foreach (var (leaf, read) in reads)
            if (await read is { } head) heads[leaf] = View(head);
        return heads;
    }

    /// <summary>Every leaf of <paramref name="streamId"/>, in version order (one query on the stream index).</summary>
    public async Task<IReadOnlyList<LedgeredEvent>> StreamLeavesAsync(string streamId, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var leaves = await session.Query<LedgerLeaf>().Where(l => l.StreamId == streamId).OrderBy(l => l.StreamVersion).ToListAsync(ct);
        return [.. leaves.Select(Ledgered)];
    }

    /// <summary>
    /// Each stream's latest leaf (its highest version), read in pages of <paramref name="pageSize"/> leaves in tree order:
    /// what a whole-store verification checks the streams' ends against. Memory: one leaf per stream.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, LedgeredEvent>> LatestLeafPerStreamAsync(int pageSize = 10_000, CancellationToken ct = default)
    {
        var latest = new Dictionary<string, LedgeredEvent>(StringComparer.Ordinal);
        await using var session = await readModels.QuerySessionAsync(ct);
        var size = (await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId, ct))?.Size ?? 0;
        for (long from = 0; from < size; from += pageSize)
        {
            var page = await session.Query<LedgerLeaf>().Where(l => l.LeafIndex >= from && l.LeafIndex < from + pageSize).ToListAsync(ct);
            foreach (var leaf in page)
                if (!latest.TryGetValue(leaf.StreamId, out var seen) || seen.Version < leaf.StreamVersion) latest[leaf.StreamId] = Ledgered(leaf);
        }
        return latest;
    }

    public async Task<(InclusionProofView? Proof, LedgerProofError Error)> InclusionAsync(Guid eventId, long treeSize, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        // Two round trips: the leaf and the head together, then the subtrees the leaf's path needs.
        var batch = session.CreateBatchQuery();
        var leafRead = batch.Load<LedgerLeaf>(eventId);
        var headRead = Head(batch, treeSize);
        await batch.Execute(ct);
        if (await leafRead is not { } leaf) return (null, LedgerProofError.UnknownEvent);
        if (await headRead is not { } head) return (null, LedgerProofError.TreeSizeNotSigned);
        if (leaf.LeafIndex >= treeSize) return (null, LedgerProofError.EventNotInTree);
        var path = await PathAsync(session, leaf.LeafIndex, treeSize, ct);
        return (new InclusionProofView(leaf.LeafIndex, treeSize, leaf.Hash, [.. path.Select(Convert.ToHexStringLower)], head.RootHash),
            LedgerProofError.None);
    }

    public async Task<(ConsistencyProofView? Proof, LedgerProofError Error)> ConsistencyAsync(long from, long to, CancellationToken ct = default)
    {
        if (from < 1 || to < from) return (null, LedgerProofError.InvalidRange);
        await using var session = await readModels.QuerySessionAsync(ct);
        // One round trip: both heads and every subtree the proof needs (known from the sizes alone).
        var batch = session.CreateBatchQuery();
        var oldRead = Head(batch, from);
        var newRead = Head(batch, to);
        var rootsRead = PerfectRoots.Read(batch, MerkleTree.ConsistencySubtrees(from, to));
        await batch.Execute(ct);
        if (await oldRead is not { } old || await newRead is not { } @new)
            return (null, LedgerProofError.TreeSizeNotSigned);
        var roots = await rootsRead.CompleteAsync(session, ct);
        var proof = MerkleTree.ConsistencyProof(from, to, (start, count) => roots[(start, count)]);
        return (new ConsistencyProofView(from, to, old.RootHash, @new.RootHash, [.. proof.Select(Convert.ToHexStringLower)]), LedgerProofError.None);
    }

    /// <summary>The number of leaves the tree holds now.</summary>
    public async Task<long> SizeAsync(CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        return (await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId, ct))?.Size ?? 0;
    }

    /// <summary>The leaves (stored event hashes) with index in [<paramref name="from"/>, <paramref name="to"/>), in leaf order.</summary>
    public async Task<IReadOnlyList<byte[]>> LeavesAsync(long from, long to, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        return await LeavesAsync(session, from, to, ct);
    }

    /// <summary>
    /// The roots of the perfect subtrees (start, count) a proof asks for, read in the caller's batch (one round trip with
    /// whatever else it reads): single leaves hashed from their stored event hash, larger ones from their stored node. A
    /// node a ledger built before nodes were kept lacks is computed from its leaves afterwards.
    /// </summary>
    private sealed record PerfectRoots(
        IReadOnlyList<(long Start, long Count)> Subtrees, Task<IReadOnlyList<LedgerLeaf>>? Leaves, Task<IReadOnlyList<LedgerNode>>? Nodes)
    {
        public static PerfectRoots Read(IBatchedQuery batch, IReadOnlyList<(long Start, long Count)> subtrees)
        {
            var single = subtrees.Where(s => s.Count == 1).Select(s => s.Start).Distinct().ToArray();
            var nodeIds = subtrees.Where(s => s.Count > 1).Select(s => LedgerNode.IdOf(HeightOf(s.Count), s.Start / s.Count)).Distinct().ToArray();
            return new(subtrees,
                single.Length > 0 ? batch.Query<LedgerLeaf>().Where(l => single.Contains(l.LeafIndex)).ToList() : null,
                nodeIds.Length > 0 ? batch.LoadMany<LedgerNode>().ById(nodeIds) : null);
        }

        /// <summary>After the batch ran: every root asked for, keyed (start, count).</summary>
        public async Task<Dictionary<(long Start, long Count), byte[]>> CompleteAsync(IQuerySession session, CancellationToken ct)
        {
            var roots = new Dictionary<(long, long), byte[]>();
            if (Leaves is not null)
                foreach (var l in await Leaves) roots[(l.LeafIndex, 1)] = MerkleTree.LeafHash(ViewHex.Bytes(l.Hash));
            if (Nodes is not null)
                foreach (var n in await Nodes) roots[(n.Index << n.Height, 1L << n.Height)] = ViewHex.Bytes(n.Hash);
            foreach (var (start, count) in Subtrees.Where(s => !roots.ContainsKey(s)).Distinct())
                roots[(start, count)] = count == 1
                    ? throw new InvalidOperationException($"The ledger does not hold leaf {start}.")
                    : MerkleTree.Root(await LeavesAsync(session, start, start + count, ct));
            return roots;
        }
    }

    /// <summary>The inclusion path of a leaf from the perfect subtrees it needs, read in one round trip.</summary>
    private static async Task<IReadOnlyList<byte[]>> PathAsync(IQuerySession session, long leafIndex, long treeSize, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var read = PerfectRoots.Read(batch, MerkleTree.InclusionSubtrees(leafIndex, treeSize));
        await batch.Execute(ct);
        var roots = await read.CompleteAsync(session, ct);
        return MerkleTree.InclusionPath(leafIndex, treeSize, (start, count) => roots[(start, count)]);
    }

    private static int HeightOf(long perfectCount) => System.Numerics.BitOperations.Log2((ulong)perfectCount);

    private static async Task<IReadOnlyList<byte[]>> LeavesAsync(IQuerySession session, long from, long to, CancellationToken ct)
    {
        var hashes = await session.Query<LedgerLeaf>().Where(l => l.LeafIndex >= from && l.LeafIndex < to).OrderBy(l => l.LeafIndex)
            .Select(l => l.Hash).ToListAsync(ct);
        if (hashes.Count != to - from)
            throw new InvalidOperationException($"The ledger holds {hashes.Count} of the {to - from} leaves asked for.");
        return [.. hashes.Select(ViewHex.Bytes)];
    }

    /// <summary>The signed head of <paramref name="treeSize"/> leaves, or null, once the batch has run.</summary>
    private static Task<LedgerTreeHead?> Head(IBatchedQuery batch, long treeSize) =>
        batch.Query<LedgerTreeHead>().Where(h => h.TreeSize == treeSize && !h.BeyondLog).FirstOrDefault();

    private static LedgeredEvent Ledgered(LedgerLeaf l) => new(l.StreamId, l.Id, l.StreamVersion, l.LeafIndex, ViewHex.Bytes(l.Hash));

    private static LedgerCheckpointView View(LedgerTreeHead h) => new(h.TreeSize, h.RootHash, h.At, h.EndorsedBy, h.Id, h.StreamVersion);
}
