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

    /// <summary>Whether the signed tree holds the last event of <paramref name="snapshot"/> (so every event before it too).</summary>
    public bool Covers<TState>(Commands.StreamSnapshot<TState> snapshot) => snapshot.LastPosition is { } at && at <= LastLeafPosition;
}

/// <summary>
/// A reading of the latest anchor: it (null: none — no head yet, or a young network whose heads the view is still taking
/// in), and why a head after it does not check, if one does not (<paramref name="Damage"/>, about the <c>ledger</c>
/// stream's head at <paramref name="DamageAt"/>).
/// </summary>
public sealed record AnchorReading(LedgerAnchor? Anchor, string? Damage, long DamageAt = 0)
{
    /// <summary>
    /// Why this node cannot prove what it has not folded yet, so must not decide on it: its view does not prove a signed head
    /// stored longer ago than <see cref="LedgerAnchors.LagWindow"/> (a ledger rebuild, or a view deleted or edited by
    /// whoever writes the read models), or none among the last <see cref="LedgerAnchors.MaxStepsBack"/>. Null when it can.
    /// </summary>
    public string? Unprovable { get; init; }
}

/// <summary>
/// Proves events under the latest signed tree head without trusting the ledger view (the read model, which whoever writes
/// the read-model database can edit): the view only supplies leaf indexes and inclusion paths, and every one is checked
/// against a root the hospitals signed (RFC 9162 §2.1.3.2). A leaf deleted from the view, or edited to a rewritten event's
/// hash, no longer passes for "not taken in yet": an event stored before the signed head's last leaf must be proven.
/// Reads per anchor (kept until the ledger stream has a newer head): the ledger stream's last head (and, while the view
/// lags, up to <see cref="MaxStepsBack"/> heads before it), the view's last leaf of that head and its path, one event.
/// </summary>
/// <param name="endorsed">The node's accepted heads: a head after the latest accepted one (signed with a retired key and
/// stamped back, say) is passed over like one that does not verify. Null: every head that verifies is a candidate.</param>
public sealed class LedgerAnchors(IEventStore store, EventSerializer serializer, ILedgeredHistory ledger, TimeProvider? time = null, EndorsedTreeHeads? endorsed = null)
{
    /// <summary>How many heads back from the ledger stream's last one an anchor is looked for.</summary>
    public const int MaxStepsBack = 256;

    /// <summary>
    /// How long a signed head may stay untaken by this node's view before the view counts as behind rather than busy:
    /// heads are signed every few seconds over what the view took in, so a head older than this that the view has not taken
    /// in means the view was reset (a rebuild) or set back. Judged by the head's own signed time.
    /// </summary>
    public static readonly TimeSpan LagWindow = TimeSpan.FromMinutes(2);

    private Known? _known;

    /// <summary>A reading, and the ledger stream's last head it was made at.</summary>
    private sealed record Known(Guid LastHead, long LastVersion, AnchorReading Reading);

    /// <summary>
    /// The latest signed head that checks (its bytes hash to its stored hash, its endorsement verifies under
    /// <paramref name="checker"/>) and that this node's view proves (its last leaf proven under its root and served by the
    /// store as that leaf). Heads that do not check — junk or forgeries written past the service — are passed over and
    /// reported (<see cref="AnchorReading.Damage"/>). A head that checks but that the view cannot prove is passed over while
    /// it is recent (the view is still taking it in); one signed longer than <see cref="LagWindow"/> ago ends the search as
    /// <see cref="AnchorReading.Unprovable"/>: otherwise whoever writes the read models could delete or edit the view until
    /// only heads older than a rewritten history were proven. The view's own size is never taken for "not yet". An anchor is
    /// kept until the ledger stream has a new head, while the view still holds its last leaf (a rebuild clears it); any
    /// other reading is made again on the next call.
    /// </summary>
    public async Task<AnchorReading> LatestAsync(IEndorsementChecker checker, CancellationToken ct = default)
    {
        var head = await store.ReadLastAsync(LedgerStream.StreamId, ct);
        if (head is null) return new(null, null);
        if (Volatile.Read(ref _known) is { } known && known.LastHead == head.EventId && known.LastVersion == head.Version
            && (known.Reading.Anchor is not { } held || await StillHeldAsync(held, ct)))
            return known.Reading;
        var (lastHead, lastVersion) = (head.EventId, head.Version);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        // Heads after the latest this node accepts are not the network's word, however they verify (EndorsedTreeHeads).
        var acceptedUpTo = endorsed is null ? long.MaxValue : (await endorsed.LatestAsync(head.Version, head.Hash, checker, ct))?.Envelope.Version ?? -1;
        var read = 0;
        string? damage = null;
        long damageAt = 0;
        AnchorReading? found = null;
        string? unprovable = null;
        var step = 0;
        // Steps count heads that verify: junk the store writer appends is read past (up to EndorsedTreeHeads.MaxEventsBack events).
        for (; step < MaxStepsBack && read < EndorsedTreeHeads.MaxEventsBack && head is not null && found is null && unprovable is null; read++)
        {
            if ((head.Version > acceptedUpTo ? null : await EndorsedTreeHeads.VerifiedAsync(head, serializer, checker, ct)) is not { } signed)
                (damage, damageAt) = (damage ?? $"The ledger stream's tree head at version {head.Version} does not hash, read or verify as a signed tree head this node accepts.",
                    damage is null ? head.Version : damageAt);
            else
            {
                step++;
                var (reading, why) = await AnchorAsync(head, signed, ct);
                if (reading.Anchor is not null) found = reading;
                else if (why == Untied.NotServed)
                    // The store itself lost or changed the head's last event: named (verify names its stream), and the head before tried.
                    (damage, damageAt) = (damage ?? reading.Damage, damage is null ? head.Version : damageAt);
                // Its age by its own signed time: a head stamped well in the future is no "recent" head either (no honest one is).
                else if (why == Untied.NotProvenByView || (now - signed.At).Duration() > LagWindow)
                    unprovable = $"this node's ledger view does not prove the signed tree head of {signed.TreeSize} leaves stored at version {head.Version} at {signed.At:O}";
            }
            if (found is null && unprovable is null)
            {
                var after = head.Version;
                head = await BeforeAsync(head, ct);
                // Only version 0 has nothing before it: a version the stream no longer serves is not its start.
                if (head is null && after > 0) unprovable = $"the ledger stream does not serve version {after - 1}, before its head at version {after}";
            }
        }
        if (found is null && unprovable is null && head is not null) unprovable = $"no tree head among the ledger stream's last {MaxStepsBack} is proven by this node's view";
        var result = (found ?? new(null, null)) with { Damage = damage, DamageAt = damageAt, Unprovable = unprovable };
        // Only an anchor is kept: a view that could not prove may catch up while no new head is signed (a quiet network).
        Volatile.Write(ref _known, result is { Anchor: not null, Unprovable: null } ? new Known(lastHead, lastVersion, result) : null);
        return result;
    }

    /// <summary>Whether the view still holds the anchor's last leaf (one read): a rebuild clears it, and the anchor must then be read again.</summary>
    private async Task<bool> StillHeldAsync(LedgerAnchor anchor, CancellationToken ct) => await ledger.LeafAtIndexAsync(anchor.TreeSize - 1, ct) is not null;

    /// <summary>The ledger stream's event before <paramref name="head"/>, or null.</summary>
    private async Task<EventEnvelope?> BeforeAsync(EventEnvelope head, CancellationToken ct) =>
        head.Version > 0 && await store.ReadNextAsync(LedgerStream.StreamId, head.Version - 1, ct) is { } before && before.Version == head.Version - 1 ? before : null;

    /// <summary>
    /// Whether <paramref name="anchor"/> proves <paramref name="e"/> (an event the store serves, which the anchor covers):
    /// null when it does, else why not (the view holds no leaf for it, places it outside the tree, or the signed root does
    /// not hold its stored hash there: the event was rewritten, or the view edited).
    /// </summary>
    /// <exception cref="LedgerUnprovableException">The view holds fewer leaves than the anchor's tree now (reset since).</exception>
    public Task<string?> ProblemAsync(LedgerAnchor anchor, EventEnvelope e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(e);
        return ProblemAsync(anchor, e.StreamId, e.Version, e.Hash, ct);
    }

    /// <summary><see cref="ProblemAsync(LedgerAnchor, EventEnvelope, CancellationToken)"/> for the event at <paramref name="version"/> of <paramref name="streamId"/> whose stored hash is <paramref name="hash"/> (32 bytes).</summary>
    public async Task<string?> ProblemAsync(LedgerAnchor anchor, string streamId, long version, byte[] hash, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        var leaf = await ledger.LeafAtAsync(streamId, version, ct);
        var path = leaf is null || leaf.LeafIndex >= anchor.TreeSize ? null : await ledger.InclusionPathAsync(leaf.LeafIndex, anchor.TreeSize, ct);
        if (path is not null && MerkleTree.VerifyInclusion(hash, leaf!.LeafIndex, anchor.TreeSize, path, anchor.Root)) return null;
        if (leaf is not null && leaf.LeafIndex < anchor.TreeSize && leaf.Hash.AsSpan().SequenceEqual(hash))
            // The view's leaf holds the stream's hash but its subtrees do not prove it: the view is at fault, not the stream.
            throw new LedgerUnprovableException($"this node's ledger view does not prove its own leaf {leaf.LeafIndex} under the signed tree head of {anchor.TreeSize} leaves");
        if (await ledger.SizeAsync(ct) is var taken && taken < anchor.TreeSize)
        {
            // The view was reset since the anchor was read (a rebuild): it cannot prove anything of that tree until it catches up.
            Volatile.Write(ref _known, null);
            throw new LedgerUnprovableException($"this node's ledger view holds {taken} leaves, fewer than the signed tree head of {anchor.TreeSize} it proves by");
        }
        return leaf is null || leaf.LeafIndex >= anchor.TreeSize
            ? $"Version {version} was stored before the signed tree head of {anchor.TreeSize} leaves ended, but the ledger view holds no leaf for it in that tree."
            : $"The signed tree head of {anchor.TreeSize} leaves does not prove version {version} as the stream holds it (leaf {leaf.LeafIndex}).";
    }

    /// <summary>How a head's tie to the log failed: its last leaf absent from the view (not taken in yet, or deleted), not proven by the view's subtrees (edited), or not served by the store as the ledger took it in.</summary>
    private enum Untied { None, NotInView, NotProvenByView, NotServed }

    /// <summary>The head tied to the log: its last leaf proven under its root and served by the store as that leaf.</summary>
    private async Task<(AnchorReading Reading, Untied Why)> AnchorAsync(EventEnvelope head, TreeHeadSigned signed, CancellationToken ct)
    {
        var index = signed.TreeSize - 1;
        var root = Convert.FromHexString(signed.RootHash);
        if (await ledger.LeafAtIndexAsync(index, ct) is not { } last) return (new(null, null), Untied.NotInView);
        var path = await ledger.InclusionPathAsync(index, signed.TreeSize, ct);
        if (path is null || !MerkleTree.VerifyInclusion(last.Hash, index, signed.TreeSize, path, root))
            return (new(null, $"The ledger view does not prove leaf {index} under the signed tree head at version {head.Version}.", head.Version), Untied.NotProvenByView);
        var served = await store.ReadNextAsync(last.StreamId, last.Version, ct);
        if (served is not { Position: { } position } || served.Version != last.Version || served.EventId != last.EventId
            || !served.Hash.AsSpan().SequenceEqual(last.Hash) || !HashChain.ComputeHash(served).AsSpan().SequenceEqual(served.Hash))
            return (new(null, $"The store no longer serves leaf {index}, the last the signed tree head at version {head.Version} holds, as the ledger took it in.", head.Version),
                Untied.NotServed);
        return (new(new LedgerAnchor(head.Version, head.EventId, signed.TreeSize, root, position), null), Untied.None);
    }
}
