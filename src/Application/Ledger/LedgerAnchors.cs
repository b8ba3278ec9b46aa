using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// A signed tree head this node checked itself and tied to the global log (docs/architecture.md, "The ledger"): the
/// <c>ledger</c> stream's head at <paramref name="HeadVersion"/> hashes and verifies under the network, and its last leaf
/// (index <paramref name="TreeSize"/> - 1) is proven under <paramref name="Root"/> and served by the store at
/// <paramref name="LastLeafPosition"/>. Every event stored at or before that position is a leaf of the signed tree.
/// </summary>
/// <param name="Root">The head's RFC 9162 root (32 bytes).</param>
public sealed record LedgerAnchor(long HeadVersion, Guid HeadId, long TreeSize, byte[] Root, GlobalPosition LastLeafPosition)
{
    /// <summary>Whether the signed tree holds <paramref name="e"/> (a leaf event as the store serves it, with its position): stored no later than its last leaf.</summary>
    public bool Covers(EventEnvelope e) => e.Position is { } at && at <= LastLeafPosition;
}

/// <summary>
/// A reading of the latest anchor: it, or none yet (no head, or the view far behind the ledger stream), or why the
/// evidence is damaged (<paramref name="Damage"/>, about the <c>ledger</c> stream's head at <paramref name="DamageAt"/>).
/// </summary>
public sealed record AnchorReading(LedgerAnchor? Anchor, string? Damage, long DamageAt = 0);

/// <summary>
/// Proves events under the latest signed tree head without trusting the ledger view (the read model, which whoever writes
/// the read-model database can edit): the view only supplies leaf indexes and inclusion paths, and every one is checked
/// against a root the hospitals signed (RFC 9162 §2.1.3.2). A leaf deleted from the view, or edited to a rewritten event's
/// hash, no longer passes for "not taken in yet": an event stored before the signed head's last leaf must be proven.
/// Reads per anchor (kept until the ledger stream has a newer head): the ledger stream's last head (and, while the view
/// lags, up to <see cref="MaxStepsBack"/> heads before it), the view's last leaf of that head and its path, one event.
/// </summary>
public sealed class LedgerAnchors(IEventStore store, EventSerializer serializer, ILedgeredHistory ledger)
{
    /// <summary>How many heads back from the ledger stream's last one an anchor is looked for while this node's view has not taken them in.</summary>
    public const int MaxStepsBack = 8;

    private LedgerAnchor? _known;

    /// <summary>
    /// The latest signed head the view has taken in, checked (its bytes hash to its stored hash, its endorsement verifies
    /// under <paramref name="checker"/>, its last leaf is proven and served by the store), or why it is not: a head that
    /// does not verify, a view that has taken the head in but cannot prove its last leaf, a last leaf the store no longer
    /// serves. No anchor (and no damage) when the ledger stream holds no head, or the view is more than
    /// <see cref="MaxStepsBack"/> heads behind it.
    /// </summary>
    public async Task<AnchorReading> LatestAsync(IEndorsementChecker checker, CancellationToken ct = default)
    {
        var head = await store.ReadLastAsync(LedgerStream.StreamId, ct);
        if (head is null) return new(null, null);
        if (Volatile.Read(ref _known) is { } known && known.HeadId == head.EventId && known.HeadVersion == head.Version) return new(known, null);
        var taken = await ledger.SizeAsync(ct);
        for (var step = 0; step < MaxStepsBack && head is not null; step++)
        {
            if (await SignedAsync(head, checker, ct) is not { } signed)
                return new(null, $"The ledger stream's tree head at version {head.Version} does not hash, read or verify as a signed tree head.", head.Version);
            if (signed.TreeSize > taken)
            {
                // The view has not taken this head's leaves in yet: the one before it.
                head = head.Version == 0 ? null : await store.ReadNextAsync(LedgerStream.StreamId, head.Version - 1, ct) is { } before
                    && before.Version == head.Version - 1 ? before : null;
                continue;
            }
            var anchor = await AnchorAsync(head, signed, ct);
            if (anchor.Anchor is { } found) Volatile.Write(ref _known, found);
            return anchor;
        }
        return new(null, null);
    }

    /// <summary>
    /// Whether <paramref name="anchor"/> proves <paramref name="e"/> (an event the store serves, which the anchor covers):
    /// null when it does, else why not (the view holds no leaf for it, places it outside the tree, or the signed root does
    /// not hold its stored hash there: the event was rewritten, or the view edited).
    /// </summary>
    public async Task<string?> ProblemAsync(LedgerAnchor anchor, EventEnvelope e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        ArgumentNullException.ThrowIfNull(e);
        var leaf = await ledger.LeafAtAsync(e.StreamId, e.Version, ct);
        if (leaf is null || leaf.LeafIndex >= anchor.TreeSize)
            return $"Version {e.Version} was stored before the signed tree head of {anchor.TreeSize} leaves ended, but the ledger view holds no leaf for it in that tree.";
        var path = await ledger.InclusionPathAsync(leaf.LeafIndex, anchor.TreeSize, ct);
        return path is not null && MerkleTree.VerifyInclusion(e.Hash, leaf.LeafIndex, anchor.TreeSize, path, anchor.Root)
            ? null
            : $"The signed tree head of {anchor.TreeSize} leaves does not prove version {e.Version} as the stream holds it (leaf {leaf.LeafIndex}).";
    }

    /// <summary>The head's tree, once its stored bytes hash to its stored hash and its endorsement verifies; else null.</summary>
    private async Task<TreeHeadSigned?> SignedAsync(EventEnvelope head, IEndorsementChecker checker, CancellationToken ct)
    {
        if (!HashChain.ComputeHash(head).AsSpan().SequenceEqual(head.Hash)
            || (await checker.CheckAsync(new TransactionToCheck(LedgerStream.StreamId, [head], ChainIntact: true), ct)).Count > 0)
            return null;
        try
        {
            return serializer.Deserialize(head.Type, head.Data) is TreeHeadSigned { TreeSize: >= 1 } signed && IsHash(signed.RootHash) ? signed : null;
        }
        catch (UnreadableEventException)
        {
            return null;
        }
    }

    private static bool IsHash(string hex) =>
        hex.Length == 2 * MerkleTree.HashSize && Convert.FromHexString(hex, new byte[MerkleTree.HashSize], out _, out _) == System.Buffers.OperationStatus.Done;

    /// <summary>The head tied to the log: its last leaf proven under its root and served by the store as that leaf.</summary>
    private async Task<AnchorReading> AnchorAsync(EventEnvelope head, TreeHeadSigned signed, CancellationToken ct)
    {
        var index = signed.TreeSize - 1;
        var root = Convert.FromHexString(signed.RootHash);
        var last = await ledger.LeafAtIndexAsync(index, ct);
        var path = last is null ? null : await ledger.InclusionPathAsync(index, signed.TreeSize, ct);
        if (last is null || path is null || !MerkleTree.VerifyInclusion(last.Hash, index, signed.TreeSize, path, root))
            return new(null, $"The ledger view does not prove leaf {index} under the signed tree head at version {head.Version}, though it has taken that tree in.", head.Version);
        var served = await store.ReadNextAsync(last.StreamId, last.Version, ct);
        if (served is not { Position: { } position } || served.Version != last.Version || served.EventId != last.EventId
            || !served.Hash.AsSpan().SequenceEqual(last.Hash) || !HashChain.ComputeHash(served).AsSpan().SequenceEqual(served.Hash))
            return new(null, $"The store no longer serves leaf {index}, the last the signed tree head at version {head.Version} holds, as the ledger took it in.", head.Version);
        return new(new LedgerAnchor(head.Version, head.EventId, signed.TreeSize, root, position), null);
    }
}
