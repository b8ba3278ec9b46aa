using System.Security.Cryptography;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>
/// Proofs over a tree held elsewhere (a store of perfect subtree roots) are RFC 9162's proofs, read from O(log n)
/// subtrees: what lets the ledger answer a proof over a million leaves without reading them.
/// </summary>
public sealed class MerkleSubtreeProofTests
{
    private static readonly byte[][] Leaves = [.. Enumerable.Range(0, 70).Select(i => SHA256.HashData(BitConverter.GetBytes(i)))];

    /// <summary>Perfect subtree roots as a store would hold them, computed from the leaves; counts every read.</summary>
    private sealed class SubtreeStore(IReadOnlyList<byte[]> leaves)
    {
        public int Reads { get; private set; }

        public byte[] Perfect(long start, long count)
        {
            Assert.True(count > 0 && (count & (count - 1)) == 0, $"({start}, {count}) is not a perfect subtree");
            Assert.Equal(0, start % count);
            Reads++;
            return MerkleTree.Root([.. leaves.Skip((int)start).Take((int)count)]);
        }
    }

    [Fact]
    public void Inclusion_paths_from_subtree_roots_equal_those_from_the_leaves()
    {
        for (var size = 1; size <= Leaves.Length; size++)
        for (var index = 0; index < size; index++)
        {
            var leaves = Leaves[..size];
            var store = new SubtreeStore(leaves);
            var path = MerkleTree.InclusionPath(index, size, store.Perfect);
            Assert.Equal(MerkleTree.InclusionPath(index, leaves), path);
            Assert.True(MerkleTree.VerifyInclusion(leaves[index], index, size, path, MerkleTree.Root(leaves)));
            Assert.Equal(MerkleTree.InclusionSubtrees(index, size).Count, store.Reads);
        }
    }

    [Fact]
    public void Consistency_proofs_from_subtree_roots_equal_those_from_the_leaves()
    {
        for (var size = 1; size <= Leaves.Length; size++)
        for (var old = 0; old <= size; old++)
        {
            var leaves = Leaves[..size];
            var store = new SubtreeStore(leaves);
            var proof = MerkleTree.ConsistencyProof(old, size, store.Perfect);
            Assert.Equal(MerkleTree.ConsistencyProof(old, leaves), proof);
            if (old > 0)
                Assert.True(MerkleTree.VerifyConsistency(old, size, MerkleTree.Root(Leaves[..old]), MerkleTree.Root(leaves), proof));
            Assert.Equal(MerkleTree.ConsistencySubtrees(old, size).Count, store.Reads);
        }
    }

    [Theory]
    [InlineData(1_000_000L)]
    [InlineData(1_048_576L)]
    [InlineData(4_000_000_001L)]
    public void A_proof_reads_at_most_twice_log2_n_subtrees(long size)
    {
        var bound = 2 * (int)Math.Ceiling(Math.Log2(size));
        foreach (var index in new[] { 0, size / 3, size / 2, size - 2, size - 1 })
            Assert.InRange(MerkleTree.InclusionSubtrees(index, size).Count, 1, bound);
        foreach (var old in new[] { 1, size / 3, size / 2 + 1, size - 1 })
            Assert.InRange(MerkleTree.ConsistencySubtrees(old, size).Count, 1, bound);
    }

    [Fact]
    public void A_frontier_restored_from_its_subtree_roots_goes_on_as_if_never_stored()
    {
        var whole = new MerkleFrontier();
        var completed = new List<(int Height, long Index, byte[] Hash)>();
        for (var i = 0; i < 37; i++) whole.Append(Leaves[i], (h, x, r) => completed.Add((h, x, r)));
        var restored = new MerkleFrontier(whole.Size, whole.SubtreeRoots);
        for (var i = 37; i < Leaves.Length; i++)
        {
            whole.Append(Leaves[i]);
            restored.Append(Leaves[i]);
        }
        Assert.Equal(whole.Root(), restored.Root());
        Assert.Equal(MerkleTree.Root(Leaves), restored.Root());
        // Every perfect subtree of two or more leaves is reported once, with its place and its root.
        Assert.Equal(37 - 3, completed.Count); // n leaves complete n - popcount(n) subtrees; 37 = 100101b
        foreach (var (height, index, hash) in completed)
            Assert.Equal(MerkleTree.Root([.. Leaves.Skip((int)(index << height)).Take(1 << height)]), hash);
        Assert.Throws<ArgumentException>(() => new MerkleFrontier(5, [whole.SubtreeRoots[0]]));
    }
}
