using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Commands;

/// <summary>
/// What a stream must look like to be decided on, read by whoever folds it (<see cref="StreamLoader"/>: the submitter and
/// every endorser's re-execution alike): it starts at version 0 with the chain's genesis prevHash (32 zero bytes,
/// <see cref="HashChain.Genesis"/>) and its versions follow each other with no gap. A stream read that starts later, or
/// skips, is one whose history is hidden — EventStoreDB's <c>$tb</c> or <c>$maxCount</c>, a soft delete, a row moved away
/// on PostgreSQL — and deciding on what is left would let a second registration take a patient over.
/// </summary>
public static class StreamContinuity
{
    /// <summary>
    /// Checks that <paramref name="e"/> is the event a fold at <paramref name="previousVersion"/> (-1: none yet), whose last
    /// event has hash <paramref name="previousHash"/>, may take next: the next version, linked to that hash, stored under
    /// the hash of its own bytes — the chain checks the stream verifier makes (docs/architecture.md, "The envelope and the
    /// hash chain"), so an event rewritten in place (its hash recomputed or not) is never decided on.
    /// </summary>
    /// <exception cref="DamagedStreamException">It starts the stream elsewhere than version 0 or the genesis, or skips
    /// versions (<see cref="DamagedStreamException.Hidden"/>), or its link or hash does not hold.</exception>
    public static void Follows(EventEnvelope e, long previousVersion, ReadOnlySpan<byte> previousHash)
    {
        if (previousVersion < 0) Starts(e.StreamId, e);
        else if (e.Version != previousVersion + 1)
            throw new DamagedStreamException(e.StreamId, previousVersion + 1, hidden: true,
                reason: $"serves version {e.Version} right after {previousVersion}: versions {previousVersion + 1} on are not served (missing-event)");
        else if (!e.PrevHash.AsSpan().SequenceEqual(previousHash))
            throw new DamagedStreamException(e.StreamId, e.Version,
                reason: $"version {e.Version} does not link to version {previousVersion} (prev-hash-mismatch)");
        if (!HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash))
            throw new DamagedStreamException(e.StreamId, e.Version,
                reason: $"version {e.Version} is not stored under the hash of its bytes (hash-mismatch)");
    }

    /// <summary>
    /// Checks the first event a read of a stream serves (<see cref="IEventStore.ReadFirstAsync"/>) when the stream is known
    /// to hold events: version 0 with the genesis prevHash.
    /// </summary>
    /// <exception cref="DamagedStreamException">It serves nothing, or starts elsewhere (stream-truncated at version 0).</exception>
    public static void Starts(string streamId, EventEnvelope? first)
    {
        if (first is null)
            throw new DamagedStreamException(streamId, 0, hidden: true,
                reason: "serves no events although it holds some: from version 0 on, none is served (stream-truncated)");
        if (first.Version != 0)
            throw new DamagedStreamException(streamId, 0, hidden: true,
                reason: $"starts at version {first.Version}: versions 0 to {first.Version - 1} are not served (stream-truncated)");
        if (!first.PrevHash.AsSpan().SequenceEqual(HashChain.Genesis))
            throw new DamagedStreamException(streamId, 0,
                reason: "does not start the hash chain at version 0 (its prevHash is not the genesis, 32 zero bytes)");
    }
}
