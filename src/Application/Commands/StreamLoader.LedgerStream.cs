using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

/// <summary>
/// The <c>ledger</c> stream holds only tree heads, and its state is its latest head the network endorsed
/// (<see cref="EndorsedTreeHeads"/>), so its fold needs no more than where the stream ends (the next head's expected
/// version and prevHash). What this service did not write there — an event unreadable, foreign or not linked to the one
/// before, versions not served (a row deleted, a start cut with <c>$tb</c>) — is passed over rather than refused, so that
/// what the store writer does to this one stream does not stop every later tree head (the signer and each endorser fold
/// this stream to decide the next). The next head links onto the stream's end as stored; <c>verify</c> names what was
/// passed over. Every other stream refuses it (<see cref="DamagedStreamException"/>): a patient's history is not decided
/// on around an event nobody can read, or a version nobody serves.
/// </summary>
public sealed partial class StreamLoader
{
    private EndorsedTreeHeads? _endorsedHeads;

    /// <summary>Which of the ledger stream's heads this node accepts as its state, shared with the node's ledger signer and anchors (so they agree).</summary>
    public EndorsedTreeHeads EndorsedHeads => LazyInitializer.EnsureInitialized(ref _endorsedHeads,
        () => new EndorsedTreeHeads(store, serializer, (endorsement ?? Endorsement.EndorsementOptions.Default).BackdateTolerance));

    /// <summary>
    /// <paramref name="loaded"/> (the ledger stream folded) with the state of its latest head the network endorsed
    /// (<see cref="EndorsedTreeHeads"/>): a head that reads and links but that no member signed — over a tree of 2^40 leaves,
    /// say — would otherwise be the state, and no honest head could grow past it. The ledger decider's state is its last
    /// head alone, so it is that head evolved from the initial state (the initial state when none of the last heads verifies).
    /// </summary>
    private async Task<StreamSnapshot<TState>> EndorsedLedgerStateAsync<TDecider, TState, TCommand, TEvent>(StreamSnapshot<TState> loaded, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        if (network is null || loaded.Version < 0) return loaded;
        var checker = await network.CheckerAsync(Endorsement.Endorser.NetworkViewMaxAge, ct);
        var endorsed = await EndorsedHeads.LatestAsync(loaded.Version, loaded.LastHash, checker, ct);
        if (endorsed is { PassedOver: 0 }) return loaded;
        log?.LogWarning("The ledger stream's last {Count} events up to version {Version} are no tree heads the network endorsed: the next head grows past {Head}",
            endorsed?.PassedOver ?? loaded.Version + 1, loaded.Version, endorsed is null ? "none" : $"the head at version {endorsed.Envelope.Version}");
        return loaded with { State = endorsed is null ? TDecider.Initial : TDecider.Evolve(TDecider.Initial, Read<TEvent>(endorsed.Envelope)) };
    }

    /// <summary>Whether <paramref name="e"/>, the next event after (<paramref name="version"/>, <paramref name="hash"/>), is one the ledger stream's fold passes over.</summary>
    private bool PassedOver(string streamId, EventEnvelope e, long version, byte[] hash)
    {
        if (streamId != LedgerStream.StreamId) return false;
        string? why = e.Version != version + 1 ? $"versions {version + 1} to {e.Version - 1} before it are not served"
            : !e.PrevHash.AsSpan().SequenceEqual(hash) || !HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash)
            ? "it does not link to the event before it"
            : IsHead(e) ? null : "it is not a tree head this service can read";
        if (why is null) return false;
        log?.LogWarning("Ledger stream version {Version} is passed over: {Why} (written past the service; verify names it)", e.Version, why);
        return true;
    }

    private bool IsHead(EventEnvelope e)
    {
        try
        {
            return serializer.Deserialize(e.Type, e.Data) is ILedgerEvent;
        }
        catch (UnreadableEventException)
        {
            return false;
        }
    }
}
