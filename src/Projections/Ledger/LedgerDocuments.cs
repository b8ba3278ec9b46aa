using Marten;

namespace HealthEvents.Projections.Ledger;

/// <summary>One leaf of the global Merkle tree: an event (by id) at <see cref="LeafIndex"/>, its stored hash in lowercase hex.</summary>
public sealed record LedgerLeaf
{
    public Guid Id { get; init; }
    public long LeafIndex { get; init; }
    public string Hash { get; init; } = "";
    public string StreamId { get; init; } = "";
    public long StreamVersion { get; init; }
}

/// <summary>
/// The root of one perfect subtree of two or more leaves, stored once it is complete: 2^<see cref="Height"/> leaves from
/// leaf <see cref="Index"/> × 2^<see cref="Height"/>. A proof reads O(log n) of these instead of every leaf.
/// </summary>
public sealed record LedgerNode
{
    /// <summary><see cref="IdOf"/>: height and index, e.g. <c>3/41</c>.</summary>
    public string Id { get; init; } = "";
    public int Height { get; init; }
    public long Index { get; init; }

    /// <summary>The subtree's RFC 9162 root (node hash), lowercase hex.</summary>
    public string Hash { get; init; } = "";

    public static string IdOf(int height, long index) => $"{height}/{index}";
}

/// <summary>How many leaves the tree has (the next leaf's index), and its right edge.</summary>
public sealed record LedgerProgress
{
    public const string SingletonId = "ledger";
    public string Id { get; init; } = SingletonId;
    public long Size { get; init; }

    /// <summary>
    /// The roots of the perfect subtrees on the tree's right edge, largest first, lowercase hex (<see cref="Application.Ledger.MerkleFrontier.SubtreeRoots"/>).
    /// Null only in a ledger built before the edge was kept; the projection then reads the leaves once to find it.
    /// </summary>
    public IReadOnlyList<string>? Frontier { get; init; }
}

/// <summary>A signed tree head as appended to the ledger stream, with who endorsed it.</summary>
public sealed record LedgerTreeHead
{
    /// <summary>The event id of the tree head in the ledger stream.</summary>
    public Guid Id { get; init; }
    public long TreeSize { get; init; }
    public string RootHash { get; init; } = "";
    public DateTimeOffset At { get; init; }
    public long StreamVersion { get; init; }
    public IReadOnlyList<string> EndorsedBy { get; init; } = [];

    /// <summary>
    /// Its place in the global log: how many leaves the log held before it (the leaf index the next event took), so it was
    /// stored before every leaf from this index on. What dates a stream's transactions on their own (docs/architecture.md,
    /// "Verification", point 5). Null in a ledger built before it was kept: such a head dates nothing until
    /// <c>./run.sh rebuild ledger</c>.
    /// </summary>
    public long? LeafIndex { get; init; }

    /// <summary>
    /// Whether it counts more leaves than the log held before it (<see cref="LeafIndex"/>): no signer saw that tree, so the
    /// head is a forgery however it is endorsed (written past the service, or by members meeting the policy together). Kept,
    /// so <c>verify</c> and an operator reading the view can see it, but never served as a head: no proof, no "latest", no
    /// dating is given under it (a proof under it would ask for leaves the log does not hold).
    /// </summary>
    public bool BeyondLog { get; init; }
}

internal static class LedgerStore
{
    public static void Configure(StoreOptions options)
    {
        options.Schema.For<LedgerLeaf>()
            .UniqueIndex(Marten.Schema.UniqueIndexType.Computed, "he_ledger_leaf_index_ux", x => x.LeafIndex)
            // A stream's leaves in version order: its latest one, which every decision on the stream reads (ILedgeredHistory),
            // and the last one a tree head covers (the patient page's inclusion proof), without sorting the stream's leaves.
            .Index([x => x.StreamId, x => x.StreamVersion], i => i.Name = "he_ledger_leaf_stream_ix");
        options.Schema.For<LedgerProgress>().Identity(x => x.Id);
        options.Schema.For<LedgerNode>().Identity(x => x.Id);
        options.Schema.For<LedgerTreeHead>().Index(x => x.TreeSize, i => i.Name = "he_ledger_head_size_ix")
            // The latest head before a leaf (LedgerQuery.HeadsBeforeAsync).
            .Index(x => x.LeafIndex, i => i.Name = "he_ledger_head_leaf_ix");
    }
}
