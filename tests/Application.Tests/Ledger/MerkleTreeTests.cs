using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>RFC 9162 Merkle trees: the Certificate Transparency test vectors, then the proofs' properties for every small tree.</summary>
public sealed class MerkleTreeTests
{
    /// <summary>The leaves of the RFC 6962 / 9162 reference tests (same hashing in both).</summary>
    private static readonly byte[][] CtLeaves =
    [
        .. new[] { "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f" }
            .Select(Convert.FromHexString),
    ];

    private static byte[][] Leaves(int n) => [.. Enumerable.Range(0, n).Select(i => SHA256.HashData(BitConverter.GetBytes(i)))];

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [Theory]
    [InlineData(1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]
    [InlineData(2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]
    [InlineData(3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77")]
    [InlineData(4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
    [InlineData(5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4")]
    [InlineData(6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef")]
    [InlineData(7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c")]
    [InlineData(8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
    public void Roots_match_the_reference_vectors(int size, string root) =>
        Assert.Equal(root, Hex(MerkleTree.Root(CtLeaves[..size])));

    [Fact]
    public void The_empty_tree_is_the_hash_of_nothing() =>
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Hex(MerkleTree.Root([])));

    [Fact]
    public void Paths_and_proofs_match_the_reference_vectors()
    {
        Assert.Equal(
            ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
            MerkleTree.InclusionPath(0, CtLeaves).Select(Hex));
        Assert.Equal(
            ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
            MerkleTree.InclusionPath(5, CtLeaves).Select(Hex));
        Assert.Equal(
            ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
            MerkleTree.ConsistencyProof(6, CtLeaves).Select(Hex));
    }

    [Fact]
    public void Every_leaf_of_every_tree_up_to_17_has_a_path_that_verifies_and_no_other_does()
    {
        for (var n = 1; n <= 17; n++)
        {
            var leaves = Leaves(n);
            var root = MerkleTree.Root(leaves);
            for (var i = 0; i < n; i++)
            {
                var path = MerkleTree.InclusionPath(i, leaves);
                var context = $"leaf {i} of {n}";

                Assert.True(MerkleTree.VerifyInclusion(leaves[i], i, n, path, root), context);
                Assert.Equal(ExpectedPathLength(i, n), path.Count);
                for (var p = 0; p < path.Count; p++)
                {
                    var tampered = path.ToList();
                    tampered[p] = FlipByte(tampered[p], p);
                    Assert.False(MerkleTree.VerifyInclusion(leaves[i], i, n, tampered, root), $"{context}, node {p} flipped");
                }
                Assert.False(MerkleTree.VerifyInclusion(FlipByte(leaves[i]), i, n, path, root), context);
                Assert.False(MerkleTree.VerifyInclusion(leaves[i], i, n, path, FlipByte(root)), context);
                Assert.False(MerkleTree.VerifyInclusion(leaves[i], i, n, [.. path, root], root), context);
                if (path.Count > 0) Assert.False(MerkleTree.VerifyInclusion(leaves[i], i, n, path.Take(path.Count - 1).ToList(), root), context);
                if (n > 1) Assert.False(MerkleTree.VerifyInclusion(leaves[i], (i + 1) % n, n, path, root), context);
                // The size is not committed by the path alone (a left leaf proves the same in a bigger tree): the signed
                // root is what authenticates the tree. Only a size without room for the leaf is refused outright.
                Assert.False(MerkleTree.VerifyInclusion(leaves[i], i, i, path, root), context);
            }
        }
    }

    [Fact]
    public void Inclusion_rejects_nonsense_without_throwing()
    {
        var leaves = Leaves(3);
        var root = MerkleTree.Root(leaves);
        var path = MerkleTree.InclusionPath(1, leaves);

        Assert.False(MerkleTree.VerifyInclusion(leaves[1], -1, 3, path, root));
        Assert.False(MerkleTree.VerifyInclusion(leaves[1], 3, 3, path, root));
        Assert.False(MerkleTree.VerifyInclusion(leaves[1], 0, 0, [], root));
        Assert.False(MerkleTree.VerifyInclusion(leaves[1], 1, 3, [path[0][..31], path[1]], root));
        Assert.False(MerkleTree.VerifyInclusion(leaves[1], 1, 3, path, root[..16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionPath(3, leaves));
    }

    [Fact]
    public void Every_pair_of_tree_sizes_up_to_17_is_proven_consistent()
    {
        var leaves = Leaves(17);
        for (var n = 1; n <= 17; n++)
        {
            var newLeaves = leaves[..n];
            var newRoot = MerkleTree.Root(newLeaves);
            for (var m = 1; m <= n; m++)
            {
                var oldRoot = MerkleTree.Root(leaves[..m]);
                var proof = MerkleTree.ConsistencyProof(m, newLeaves);
                var context = $"{m} -> {n}";

                Assert.True(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, proof), context);
                Assert.False(MerkleTree.VerifyConsistency(m, n, FlipByte(oldRoot), newRoot, proof), context);
                Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, FlipByte(newRoot), proof), context);
                if (m == n)
                {
                    Assert.Empty(proof);
                    continue;
                }
                for (var p = 0; p < proof.Count; p++)
                {
                    var tampered = proof.ToList();
                    tampered[p] = FlipByte(tampered[p], p);
                    Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, tampered), $"{context}, node {p} flipped");
                }
                Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, []), context);
                Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, [.. proof, newRoot]), context);
                Assert.False(MerkleTree.VerifyConsistency(n, m, newRoot, oldRoot, proof), context);
                // A different history of the same size is not consistent with the old tree.
                var rewritten = newLeaves.ToArray();
                rewritten[m - 1] = FlipByte(rewritten[m - 1]);
                Assert.False(MerkleTree.VerifyConsistency(m, n, oldRoot, MerkleTree.Root(rewritten), MerkleTree.ConsistencyProof(m, rewritten)), context);
            }
        }
    }

    [Fact]
    public void Every_tree_extends_the_empty_one()
    {
        var leaves = Leaves(5);

        Assert.Empty(MerkleTree.ConsistencyProof(0, leaves));
        Assert.True(MerkleTree.VerifyConsistency(0, 5, MerkleTree.EmptyRoot, MerkleTree.Root(leaves), []));
        Assert.False(MerkleTree.VerifyConsistency(0, 5, MerkleTree.Root(leaves[..1]), MerkleTree.Root(leaves), []));
    }

    /// <summary>One node per level the leaf climbs: RFC 9162 paths are at most ceil(log2 n) long, shorter on the right edge.</summary>
    private static int ExpectedPathLength(int index, int size)
    {
        if (size == 1) return 0;
        var k = 1;
        while (k << 1 < size) k <<= 1;
        return 1 + (index < k ? ExpectedPathLength(index, k) : ExpectedPathLength(index - k, size - k));
    }
}
