using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// An endorser's own reading of the global log, for co-signing ledger tree heads (docs/architecture.md, "The ledger"):
/// the ledger decider only sees the ledger stream, so without this a single member could have a head of any size and
/// root endorsed, and stall the ledger (sizes must grow). Before signing, the witness recomputes the RFC 9162 root of
/// the first <c>treeSize</c> leaves — every event's stored hash in global order, the ledger stream's own excluded —
/// from the store itself. It keeps only the tree's right edge and the position read so far, so a batch of heads costs
/// the events since the last batch; a batch with a head smaller than what it has read (rare: another node's signer
/// behind, or a hostile member) is recomputed from the start, once for all its heads.
/// </summary>
public sealed class LedgerWitness(IEventStore store)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MerkleFrontier _frontier = new();
    private GlobalPosition? _after;

    /// <summary>
    /// The roots of the trees of <paramref name="treeSizes"/> leaves, in one pass over the global log: up to the largest
    /// size, or the log's end if it holds fewer leaves. Sizes below one are left out (no head covers them).
    /// </summary>
    public async Task<LedgerReading> ReadAsync(IEnumerable<long> treeSizes, CancellationToken ct)
    {
        var wanted = new SortedSet<long>(treeSizes.Where(s => s >= 1));
        var roots = new Dictionary<long, byte[]>();
        if (wanted.Count == 0) return new LedgerReading(0, roots);
        await _gate.WaitAsync(ct);
        try
        {
            if (wanted.Min < _frontier.Size)
            {
                _frontier = new MerkleFrontier();
                _after = null;
            }
            if (wanted.Contains(_frontier.Size)) roots[_frontier.Size] = _frontier.Root();
            while (_frontier.Size < wanted.Max)
            {
                var batch = await store.ReadAllAsync(_after, LedgerVerifier.BatchSize, ct);
                if (batch.Count == 0) break;
                foreach (var e in batch)
                {
                    _after = e.Position;
                    if (!LedgerStream.IsLeaf(e.StreamId)) continue;
                    _frontier.Append(e.Hash);
                    if (wanted.Contains(_frontier.Size)) roots[_frontier.Size] = _frontier.Root();
                    if (_frontier.Size == wanted.Max) break;
                }
            }
            return new LedgerReading(_frontier.Size, roots);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>One <see cref="LedgerWitness.ReadAsync"/>: the leaves read (the log's size if it ended first) and a root (32 bytes) per size asked for that the log reaches.</summary>
public sealed record LedgerReading(long Leaves, IReadOnlyDictionary<long, byte[]> Roots)
{
    /// <summary>Why a head of <paramref name="treeSize"/> leaves with root <paramref name="rootHex"/> (lowercase hex) is not the store's, or null.</summary>
    public string? Problem(long treeSize, string rootHex)
    {
        if (treeSize < 1) return "a tree head covers at least one leaf";
        if (!Roots.TryGetValue(treeSize, out var root))
            return treeSize > Leaves
                ? $"the global log holds {Leaves} leaves, fewer than the head's {treeSize}"
                : $"the head of {treeSize} leaves was not among those witnessed";
        return string.Equals(Convert.ToHexStringLower(root), rootHex, StringComparison.Ordinal)
            ? null
            : $"the head's root is not the root of the global log's first {treeSize} leaves";
    }
}
