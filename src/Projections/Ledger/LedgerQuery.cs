using HealthEvents.Application.Ledger;
using Marten;

namespace HealthEvents.Projections.Ledger;

public sealed record LedgerCheckpointView(long TreeSize, string RootHash, DateTimeOffset At, IReadOnlyList<string> EndorsedBy, Guid EventId, long StreamVersion);

public sealed record InclusionProofView(long LeafIndex, long TreeSize, string LeafHash, IReadOnlyList<string> Path, string RootHash);

public sealed record ConsistencyProofView(long From, long To, string FromRoot, string ToRoot, IReadOnlyList<string> Proof);

/// <summary>Why a proof cannot be given.</summary>
public enum LedgerProofError { None, UnknownEvent, TreeSizeNotSigned, EventNotInTree, InvalidRange }

/// <summary>
/// Signed tree heads and proofs under them, from the ledger projection's leaves. Proofs are only given for signed sizes,
/// so a client verifies them against a root the hospitals endorsed. Each proof reads the tree's leaf hashes (32 bytes
/// per event); storing subtree hashes would make that logarithmic when the log grows large.
/// </summary>
public sealed class LedgerQuery(ReadModelStore readModels)
{
    public async Task<LedgerCheckpointView?> LatestAsync(CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var head = await session.Query<LedgerTreeHead>().OrderByDescending(h => h.TreeSize).FirstOrDefaultAsync(ct);
        return head is null ? null : View(head);
    }

    public async Task<LedgerCheckpointView?> HeadAsync(long treeSize, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var head = await HeadAsync(session, treeSize, ct);
        return head is null ? null : View(head);
    }

    /// <summary>The event id of the last event of <paramref name="streamId"/> among the first <paramref name="treeSize"/> leaves, if any (one query).</summary>
    public async Task<Guid?> LastCoveredAsync(string streamId, long treeSize, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var leaf = await session.Query<LedgerLeaf>().Where(l => l.StreamId == streamId && l.LeafIndex < treeSize)
            .OrderByDescending(l => l.StreamVersion).FirstOrDefaultAsync(ct);
        return leaf?.Id;
    }

    public async Task<(InclusionProofView? Proof, LedgerProofError Error)> InclusionAsync(Guid eventId, long treeSize, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        if (await session.LoadAsync<LedgerLeaf>(eventId, ct) is not { } leaf) return (null, LedgerProofError.UnknownEvent);
        if (await HeadAsync(session, treeSize, ct) is not { } head) return (null, LedgerProofError.TreeSizeNotSigned);
        if (leaf.LeafIndex >= treeSize) return (null, LedgerProofError.EventNotInTree);
        var leaves = await LeavesAsync(session, treeSize, ct);
        var path = MerkleTree.InclusionPath(leaf.LeafIndex, leaves);
        return (new InclusionProofView(leaf.LeafIndex, treeSize, leaf.Hash, [.. path.Select(Convert.ToHexStringLower)], head.RootHash),
            LedgerProofError.None);
    }

    public async Task<(ConsistencyProofView? Proof, LedgerProofError Error)> ConsistencyAsync(long from, long to, CancellationToken ct = default)
    {
        if (from < 1 || to < from) return (null, LedgerProofError.InvalidRange);
        await using var session = await readModels.QuerySessionAsync(ct);
        if (await HeadAsync(session, from, ct) is not { } old || await HeadAsync(session, to, ct) is not { } @new)
            return (null, LedgerProofError.TreeSizeNotSigned);
        var leaves = await LeavesAsync(session, to, ct);
        var proof = MerkleTree.ConsistencyProof(from, leaves);
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

    private static Task<IReadOnlyList<byte[]>> LeavesAsync(IQuerySession session, long treeSize, CancellationToken ct) =>
        LeavesAsync(session, 0, treeSize, ct);

    private static async Task<IReadOnlyList<byte[]>> LeavesAsync(IQuerySession session, long from, long to, CancellationToken ct)
    {
        var hashes = await session.Query<LedgerLeaf>().Where(l => l.LeafIndex >= from && l.LeafIndex < to).OrderBy(l => l.LeafIndex)
            .Select(l => l.Hash).ToListAsync(ct);
        if (hashes.Count != to - from)
            throw new InvalidOperationException($"The ledger holds {hashes.Count} of the {to - from} leaves asked for.");
        return [.. hashes.Select(Convert.FromHexString)];
    }

    private static Task<LedgerTreeHead?> HeadAsync(IQuerySession session, long treeSize, CancellationToken ct) =>
        session.Query<LedgerTreeHead>().Where(h => h.TreeSize == treeSize).FirstOrDefaultAsync(ct);

    private static LedgerCheckpointView View(LedgerTreeHead h) => new(h.TreeSize, h.RootHash, h.At, h.EndorsedBy, h.Id, h.StreamVersion);
}
