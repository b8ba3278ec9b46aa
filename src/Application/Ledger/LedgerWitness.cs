using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// An endorser's own reading of the global log, for co-signing ledger tree heads (docs/architecture.md, "The ledger"):
/// the ledger decider only sees the ledger stream, so without this a single member could have a head of any size and
/// root endorsed, and stall the ledger (sizes must grow). Before signing, the witness recomputes the RFC 9162 root of
/// the first <c>treeSize</c> leaves — every event's stored hash in global order, the ledger stream's own excluded —
/// from the store itself. It keeps only the tree's right edge and the position read so far, so each head costs the
/// events since the last one; a head smaller than what it has read (rare: another node's signer behind) is
/// recomputed from the start.
/// </summary>
public sealed class LedgerWitness(IEventStore store)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MerkleFrontier _frontier = new();
    private GlobalPosition? _after;

    /// <summary>Why a head of <paramref name="treeSize"/> leaves with root <paramref name="rootHex"/> (lowercase hex) is not the store's, or null.</summary>
    public async Task<string?> ProblemAsync(long treeSize, string rootHex, CancellationToken ct)
    {
        if (treeSize < 1) return "a tree head covers at least one leaf";
        await _gate.WaitAsync(ct);
        try
        {
            if (treeSize < _frontier.Size)
            {
                _frontier = new MerkleFrontier();
                _after = null;
            }
            while (_frontier.Size < treeSize)
            {
                var batch = await store.ReadAllAsync(_after, LedgerVerifier.BatchSize, ct);
                if (batch.Count == 0)
                    return $"the global log holds {_frontier.Size} leaves, fewer than the head's {treeSize}";
                foreach (var e in batch)
                {
                    _after = e.Position;
                    if (!LedgerStream.IsLeaf(e.StreamId)) continue;
                    _frontier.Append(e.Hash);
                    if (_frontier.Size == treeSize) break;
                }
            }
            return string.Equals(Convert.ToHexStringLower(_frontier.Root()), rootHex, StringComparison.Ordinal)
                ? null
                : $"the head's root is not the root of the global log's first {treeSize} leaves";
        }
        finally
        {
            _gate.Release();
        }
    }
}
