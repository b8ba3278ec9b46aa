using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

/// <summary>
/// The <c>ledger</c> stream holds only tree heads, and its state is the last one: an event there that this service did
/// not write — unreadable, foreign, or not linked to the one before — is passed over rather than refused, so that one event
/// written past the service does not stop every later tree head (the signer and each endorser fold this stream to decide
/// the next). The next head links onto it as stored; <c>verify</c> names it at its version. Every other stream refuses it
/// (<see cref="DamagedStreamException"/>): a patient's history is not decided on around an event nobody can read.
/// </summary>
public sealed partial class StreamLoader
{
    private readonly EndorsedTreeHeads _endorsedHeads = new(store, serializer);

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
        var endorsed = await _endorsedHeads.LatestAsync(loaded.Version, loaded.LastHash, checker, ct);
        if (endorsed is { PassedOver: 0 }) return loaded;
        log?.LogWarning("The ledger stream's last {Count} events up to version {Version} are no tree heads the network endorsed: the next head grows past {Head}",
            endorsed?.PassedOver ?? LedgerAnchors.MaxStepsBack, loaded.Version, endorsed is null ? "none" : $"the head at version {endorsed.Envelope.Version}");
        return loaded with { State = endorsed is null ? TDecider.Initial : TDecider.Evolve(TDecider.Initial, Read<TEvent>(endorsed.Envelope)) };
    }

    /// <summary>Whether <paramref name="e"/>, the next event after (<paramref name="version"/>, <paramref name="hash"/>), is one the ledger stream's fold passes over.</summary>
    private bool PassedOver(string streamId, EventEnvelope e, long version, byte[] hash)
    {
        if (streamId != LedgerStream.StreamId || e.Version != version + 1) return false;
        string? why = !e.PrevHash.AsSpan().SequenceEqual(hash) || !HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash)
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
