using System.Security.Cryptography;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Merkle trees as RFC 9162 (Certificate Transparency 2.0) defines them, used for batched endorsement
/// (docs/architecture.md, "The envelope and the hash chain") and the ledger checkpoints: leaf hash = SHA-256(0x00 || leaf), node hash =
/// SHA-256(0x01 || left || right), the tree over n leaves split at the largest power of two below n.
/// Leaves are given as their data (for endorsement: the transaction hashes); hashing them is done here.
/// Paths and proofs are lists of 32-byte hashes ordered from the leaf (or the old tree) up, as in RFC 9162
/// sections 2.1.3 and 2.1.4; the verifiers follow its algorithms step by step and never throw on bad input.
/// </summary>
public static class MerkleTree
{
    public const int HashSize = 32;

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot => SHA256.HashData([]);

    public static byte[] LeafHash(ReadOnlySpan<byte> leaf)
    {
        Span<byte> buffer = leaf.Length <= 256 ? stackalloc byte[leaf.Length + 1] : new byte[leaf.Length + 1];
        buffer[0] = 0x00;
        leaf.CopyTo(buffer[1..]);
        return SHA256.HashData(buffer);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + 2 * HashSize];
        if (left.Length != HashSize || right.Length != HashSize)
            throw new ArgumentException("Node children are 32-byte hashes.");
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>MTH(D[n]): the tree head over all <paramref name="leaves"/>.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        return leaves.Count == 0 ? EmptyRoot : new Subtrees(leaves).Root(0, leaves.Count);
    }

    /// <summary>PATH(m, D[n]): the audit path of leaf <paramref name="index"/>, from its sibling up.</summary>
    public static IReadOnlyList<byte[]> InclusionPath(long index, IReadOnlyList<byte[]> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        return InclusionPath(index, leaves.Count, new Subtrees(leaves).Perfect);
    }

    /// <summary>
    /// PATH(m, D[n]) for a tree of <paramref name="size"/> leaves held elsewhere: <paramref name="perfectRoot"/> gives the
    /// root of the perfect subtree of <c>count</c> leaves (a power of two) starting at leaf <c>start</c> (a multiple of
    /// <c>count</c>); <see cref="InclusionSubtrees"/> names, beforehand, every one it will be asked for — O(log n) of them.
    /// </summary>
    public static IReadOnlyList<byte[]> InclusionPath(long index, long size, Func<long, long, byte[]> perfectRoot)
    {
        ArgumentNullException.ThrowIfNull(perfectRoot);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        var path = new List<byte[]>();
        Path(index, 0, size);
        return path;

        // The siblings are collected root first by the recursion, then added on the way back: leaf first.
        void Path(long m, long start, long count)
        {
            if (count == 1) return;
            var k = SplitPoint(count);
            if (m < k)
            {
                Path(m, start, k);
                path.Add(SubtreeRoot(start + k, count - k, perfectRoot));
            }
            else
            {
                Path(m - k, start + k, count - k);
                path.Add(perfectRoot(start, k));
            }
        }
    }

    /// <summary>The perfect subtrees (start, count) whose roots <see cref="InclusionPath(long, long, Func{long, long, byte[]})"/> reads.</summary>
    public static IReadOnlyList<(long Start, long Count)> InclusionSubtrees(long index, long size) =>
        Recorded(read => InclusionPath(index, size, read));

    /// <summary>RFC 9162 2.1.3.2: whether <paramref name="path"/> proves <paramref name="leaf"/> at <paramref name="index"/> in the tree of <paramref name="size"/> leaves with <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(byte[] leaf, long index, long size, IReadOnlyList<byte[]> path, byte[] root)
    {
        if (leaf is null || path is null || root is null || index < 0 || index >= size) return false;
        if (root.Length != HashSize || path.Any(p => p is not { Length: HashSize })) return false;

        var fn = index;
        var sn = size - 1;
        var r = LeafHash(leaf);
        foreach (var p in path)
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = NodeHash(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, root);
    }

    /// <summary>PROOF(m, D[n]): that the tree of the first <paramref name="oldSize"/> leaves is a prefix of the tree of all <paramref name="leaves"/>.</summary>
    public static IReadOnlyList<byte[]> ConsistencyProof(long oldSize, IReadOnlyList<byte[]> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        return ConsistencyProof(oldSize, leaves.Count, new Subtrees(leaves).Perfect);
    }

    /// <summary>PROOF(m, D[n]) for a tree of <paramref name="size"/> leaves held elsewhere, read as for <see cref="InclusionPath(long, long, Func{long, long, byte[]})"/>.</summary>
    public static IReadOnlyList<byte[]> ConsistencyProof(long oldSize, long size, Func<long, long, byte[]> perfectRoot)
    {
        ArgumentNullException.ThrowIfNull(perfectRoot);
        ArgumentOutOfRangeException.ThrowIfNegative(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, size);
        var proof = new List<byte[]>();
        // Every tree extends the empty one, and a tree itself: nothing to prove.
        if (oldSize == 0 || oldSize == size) return proof;
        SubProof(oldSize, 0, size, complete: true);
        return proof;

        void SubProof(long m, long start, long count, bool complete)
        {
            if (m == count)
            {
                if (!complete) proof.Add(SubtreeRoot(start, count, perfectRoot));
                return;
            }
            var k = SplitPoint(count);
            if (m <= k)
            {
                SubProof(m, start, k, complete);
                proof.Add(SubtreeRoot(start + k, count - k, perfectRoot));
            }
            else
            {
                SubProof(m - k, start + k, count - k, complete: false);
                proof.Add(perfectRoot(start, k));
            }
        }
    }

    /// <summary>The perfect subtrees (start, count) whose roots <see cref="ConsistencyProof(long, long, Func{long, long, byte[]})"/> reads.</summary>
    public static IReadOnlyList<(long Start, long Count)> ConsistencySubtrees(long oldSize, long size) =>
        Recorded(read => ConsistencyProof(oldSize, size, read));

    /// <summary>RFC 9162 2.1.4.2: whether <paramref name="proof"/> shows the tree (<paramref name="oldSize"/>, <paramref name="oldRoot"/>) is a prefix of (<paramref name="newSize"/>, <paramref name="newRoot"/>).</summary>
    public static bool VerifyConsistency(long oldSize, long newSize, byte[] oldRoot, byte[] newRoot, IReadOnlyList<byte[]> proof)
    {
        if (oldRoot is null || newRoot is null || proof is null || oldSize < 0 || oldSize > newSize) return false;
        if (oldRoot.Length != HashSize || newRoot.Length != HashSize || proof.Any(p => p is not { Length: HashSize })) return false;
        if (oldSize == 0) return proof.Count == 0 && CryptographicOperations.FixedTimeEquals(oldRoot, EmptyRoot);
        if (oldSize == newSize) return proof.Count == 0 && CryptographicOperations.FixedTimeEquals(oldRoot, newRoot);
        if (proof.Count == 0) return false;

        // When the old tree is a complete subtree its root is the proof's implicit first node.
        IReadOnlyList<byte[]> path = (oldSize & (oldSize - 1)) == 0 ? [oldRoot, .. proof] : proof;
        var fn = oldSize - 1;
        var sn = newSize - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }
        var fr = path[0];
        var sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = NodeHash(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0
            && CryptographicOperations.FixedTimeEquals(fr, oldRoot)
            && CryptographicOperations.FixedTimeEquals(sr, newRoot);
    }

    /// <summary>
    /// MTH over the <paramref name="count"/> leaves from <paramref name="start"/>, from perfect subtree roots: the left part
    /// of every RFC 9162 split is perfect and aligned, so any subtree is at most log2(count) perfect ones folded together.
    /// </summary>
    private static byte[] SubtreeRoot(long start, long count, Func<long, long, byte[]> perfectRoot)
    {
        if ((count & (count - 1)) == 0) return perfectRoot(start, count);
        var k = SplitPoint(count);
        return NodeHash(perfectRoot(start, k), SubtreeRoot(start + k, count - k, perfectRoot));
    }

    /// <summary>Runs a proof over placeholder hashes to learn which perfect subtrees it reads, in the order it reads them.</summary>
    private static IReadOnlyList<(long Start, long Count)> Recorded(Action<Func<long, long, byte[]>> proof)
    {
        var read = new List<(long, long)>();
        var placeholder = new byte[HashSize];
        proof((start, count) =>
        {
            read.Add((start, count));
            return placeholder;
        });
        return read;
    }

    /// <summary>The largest power of two smaller than <paramref name="n"/> (n &gt; 1).</summary>
    private static long SplitPoint(long n)
    {
        var k = 1L;
        while (k << 1 < n) k <<= 1;
        return k;
    }

    /// <summary>Subtree roots over one list of leaves, each leaf hashed once.</summary>
    private sealed class Subtrees(IReadOnlyList<byte[]> leaves)
    {
        private readonly byte[]?[] _leafHashes = new byte[leaves.Count][];

        public byte[] Root(int start, int count)
        {
            if (count == 1) return _leafHashes[start] ??= LeafHash(leaves[start]);
            var k = (int)SplitPoint(count);
            return NodeHash(Root(start, k), Root(start + k, count - k));
        }

        public byte[] Perfect(long start, long count) => Root(checked((int)start), checked((int)count));
    }
}
