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

/// <summary>How many leaves the tree has (the next leaf's index).</summary>
public sealed record LedgerProgress
{
    public const string SingletonId = "ledger";
    public string Id { get; init; } = SingletonId;
    public long Size { get; init; }
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
}

internal static class LedgerStore
{
    public static void Configure(StoreOptions options)
    {
        options.Schema.For<LedgerLeaf>()
            .UniqueIndex(Marten.Schema.UniqueIndexType.Computed, "he_ledger_leaf_index_ux", x => x.LeafIndex)
            // A stream's leaves, for the last one a tree head covers (the patient page's inclusion proof).
            .Index(x => x.StreamId, i => i.Name = "he_ledger_leaf_stream_ix");
        options.Schema.For<LedgerProgress>().Identity(x => x.Id);
        options.Schema.For<LedgerTreeHead>().Index(x => x.TreeSize, i => i.Name = "he_ledger_head_size_ix");
    }
}
