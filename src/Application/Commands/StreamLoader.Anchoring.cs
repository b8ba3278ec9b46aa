using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

/// <summary>
/// A stream folded for the first time is proven under the latest signed tree head (<see cref="LedgerAnchors"/>): its
/// latest event stored before the head's last leaf must be a leaf of the signed tree, with the hash the stream holds now.
/// The ledger's latest leaf (<see cref="LedgeredTail"/>) is the view's word, which whoever writes the read-model database
/// can delete or edit along with a stream rewritten and endorsed again; the signed root is the hospitals' word. Once proven,
/// a state is extended without proof (<see cref="StreamSnapshot{TState}.Anchored"/>), so this costs a warm node nothing.
/// </summary>
public sealed partial class StreamLoader
{
    private LedgerAnchors? _anchors;

    /// <summary>This node's anchors (null without a ledger view and a verified network), shared with whoever reads beside the loader; they pass over the heads this node does not accept (<see cref="EndorsedHeads"/>).</summary>
    public LedgerAnchors? Anchors => ledger is not null && network is not null
        ? LazyInitializer.EnsureInitialized(ref _anchors, () => new LedgerAnchors(store, serializer, ledger, endorsed: EndorsedHeads))
        : null;

    /// <summary>The latest anchor to prove <paramref name="streamId"/> by (its <c>Anchor</c> null: none yet), or null when this node proves nothing (no ledger, the ledger or network stream).</summary>
    /// <exception cref="DamagedStreamException">None of the ledger stream's last heads checks (<see cref="LedgerAnchors.LatestAsync"/>).</exception>
    /// <exception cref="LedgerUnprovableException">This node's view is behind the signed heads (<see cref="AnchorReading.Unprovable"/>).</exception>
    private async Task<AnchorReading?> AnchorForAsync(string streamId, CancellationToken ct)
    {
        if (Anchors is not { } anchors || network is null || streamId == LedgerStream.StreamId || IsVerifiedNetwork(streamId)) return null;
        var reading = await anchors.LatestAsync(await network.CheckerAsync(Endorsement.Endorser.NetworkViewMaxAge, ct), ct);
        if (reading.Unprovable is { } unprovable)
        {
            log?.LogWarning("Streams folded for the first time cannot be proven now: {Reason}", unprovable);
            throw new LedgerUnprovableException(unprovable);
        }
        if (reading.Damage is { } damage)
        {
            log?.LogWarning("The ledger's latest signed tree heads do not check ({Damage}); streams are proven under {Anchor}", damage,
                reading.Anchor is { } earlier ? $"the head at version {earlier.HeadVersion}" : "none");
            // No head among the last ones checks: nothing this node folds for the first time can be proven, so it decides nothing new.
            if (reading.Anchor is null)
                throw new DamagedStreamException(LedgerStream.StreamId, reading.DamageAt,
                    reason: $"cannot prove streams under its latest signed tree heads (from version {reading.DamageAt}) (ledger-mismatch)", ledgerMismatch: true);
        }
        return reading;
    }

    /// <summary>
    /// <paramref name="loaded"/> once proven (cached as such): its latest event the signed tree covers — folded by this
    /// load (<paramref name="positions"/>, <paramref name="seen"/>) or the end of the unproven <paramref name="cached"/>
    /// prefix it extended — proven under the anchor; nothing to prove when there is no anchor yet or it covers none.
    /// </summary>
    /// <exception cref="DamagedStreamException">The signed tree does not hold that event as the stream holds it (ledger-mismatch); the unproven states this node cached of the stream are dropped.</exception>
    private async Task<StreamSnapshot<TState>> ProvenAsync<TState>(
        string streamId, AnchorReading reading, StreamSnapshot<TState>? cached, StreamSnapshot<TState> loaded,
        IReadOnlyDictionary<long, byte[]> seen, IReadOnlyDictionary<long, GlobalPosition> positions, CancellationToken ct)
    {
        if (reading.Anchor is { } anchor)
        {
            (long Version, byte[] Hash)? latest = cached is { LastPosition: { } end } && end <= anchor.LastLeafPosition ? (cached.Version, cached.LastHash) : null;
            foreach (var (version, at) in positions)
                if (at <= anchor.LastLeafPosition && version > (latest?.Version ?? -1)) latest = (version, seen[version]);
            if (latest is { } proven && await Anchors!.ProblemAsync(anchor, streamId, proven.Version, proven.Hash, ct) is { } problem)
            {
                cache.Evict(streamId);
                log?.LogWarning("Stream {StreamId} is not proven under the signed tree head of {TreeSize} leaves: {Problem}", streamId, anchor.TreeSize, problem);
                throw new DamagedStreamException(streamId, proven.Version,
                    reason: $"is not proven at version {proven.Version} under the signed tree head of {anchor.TreeSize} leaves (ledger-mismatch)", ledgerMismatch: true);
            }
        }
        var anchored = loaded with { Anchored = true };
        cache.Put(streamId, anchored);
        return anchored;
    }
}
