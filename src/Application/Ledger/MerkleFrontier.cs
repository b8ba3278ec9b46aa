namespace HealthEvents.Application.Ledger;

/// <summary>
/// The right edge of an append-only RFC 9162 tree: one perfect subtree root per set bit of its size.
/// Appending a leaf costs O(log n) and the root needs no leaf read again, so whoever signs tree heads
/// keeps up with the log without re-reading it each time.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<(int Height, byte[] Hash)> _subtrees = [];

    public long Size { get; private set; }

    /// <summary>Adds the next leaf (the raw leaf: the leaf hash is taken here).</summary>
    public void Append(byte[] leaf)
    {
        _subtrees.Add((0, MerkleTree.LeafHash(leaf)));
        // Two neighbouring subtrees of one height are the two halves of the next perfect subtree.
        while (_subtrees.Count >= 2 && _subtrees[^1].Height == _subtrees[^2].Height)
        {
            var (right, left) = (_subtrees[^1], _subtrees[^2]);
            _subtrees.RemoveRange(_subtrees.Count - 2, 2);
            _subtrees.Add((left.Height + 1, MerkleTree.NodeHash(left.Hash, right.Hash)));
        }
        Size++;
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
