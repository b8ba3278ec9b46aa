namespace HealthEvents.Application.Ledger;

/// <summary>
/// The right edge of an append-only RFC 9162 tree: one perfect subtree root per set bit of its size, the largest
/// (leftmost) first. Appending a leaf costs O(log n) and the root needs no leaf read again, so whoever signs tree
/// heads keeps up with the log without re-reading it each time.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<(int Height, byte[] Hash)> _subtrees = [];

    public MerkleFrontier()
    {
    }

    /// <summary>
    /// The frontier of a tree of <paramref name="size"/> leaves from its <see cref="SubtreeRoots"/> as stored: one 32-byte
    /// root per set bit of the size, largest first.
    /// </summary>
    /// <exception cref="ArgumentException">The number or size of the roots does not fit <paramref name="size"/>.</exception>
    public MerkleFrontier(long size, IReadOnlyList<byte[]> subtreeRoots)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentNullException.ThrowIfNull(subtreeRoots);
        var heights = Enumerable.Range(0, 63).Reverse().Where(h => (size >> h & 1) == 1).ToList();
        if (heights.Count != subtreeRoots.Count || subtreeRoots.Any(r => r is not { Length: MerkleTree.HashSize }))
            throw new ArgumentException($"A tree of {size} leaves has {heights.Count} perfect subtrees on its right edge.", nameof(subtreeRoots));
        for (var i = 0; i < heights.Count; i++) _subtrees.Add((heights[i], subtreeRoots[i]));
        Size = size;
    }

    public long Size { get; private set; }

    /// <summary>The roots of the perfect subtrees on the right edge, largest first (what <see cref="MerkleFrontier(long, IReadOnlyList{byte[]})"/> takes back).</summary>
    public IReadOnlyList<byte[]> SubtreeRoots => _subtrees.Select(s => s.Hash).ToList();

    /// <summary>
    /// Adds the next leaf (the raw leaf: the leaf hash is taken here). <paramref name="completed"/> hears of every perfect
    /// subtree of two or more leaves the leaf completes: its height (log2 of its leaf count), its index among the subtrees
    /// of that height (its first leaf is index × 2^height), and its root.
    /// </summary>
    public void Append(byte[] leaf, Action<int, long, byte[]>? completed = null)
    {
        _subtrees.Add((0, MerkleTree.LeafHash(leaf)));
        Size++;
        // Two neighbouring subtrees of one height are the two halves of the next perfect subtree.
        while (_subtrees.Count >= 2 && _subtrees[^1].Height == _subtrees[^2].Height)
        {
            var (right, left) = (_subtrees[^1], _subtrees[^2]);
            _subtrees.RemoveRange(_subtrees.Count - 2, 2);
            var merged = (Height: left.Height + 1, Hash: MerkleTree.NodeHash(left.Hash, right.Hash));
            _subtrees.Add(merged);
            completed?.Invoke(merged.Height, (Size >> merged.Height) - 1, merged.Hash);
        }
    }

    /// <summary>The tree's root: the subtrees folded from the smallest, as RFC 9162's largest-power-of-two split nests them.</summary>
    public byte[] Root()
    {
        if (_subtrees.Count == 0) return MerkleTree.EmptyRoot;
        var root = _subtrees[^1].Hash;
        for (var i = _subtrees.Count - 2; i >= 0; i--) root = MerkleTree.NodeHash(_subtrees[i].Hash, root);
        return root;
    }
}
