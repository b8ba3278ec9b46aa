using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;

namespace HealthEvents.Application.Ledger;

/// <summary>A tree head of the <c>ledger</c> stream that hashes, reads and verifies under the network (<see cref="EndorsedTreeHeads"/>), and how many later events of the stream did not.</summary>
public sealed record EndorsedTreeHead(EventEnvelope Envelope, TreeHeadSigned Head, int PassedOver);

/// <summary>
/// The <c>ledger</c> stream's latest tree head the network endorsed, for whoever decides the next one (the ledger decider's
/// "sizes only grow" rule, on the signer and on every endorser re-executing it, and the signer's "is a head due"). The
/// stream's last event is not taken at its word: whoever writes the store can append a head that reads and links but that
/// no member signed, over a tree of any size — taken as the last head, no honest head could ever grow past it. Only the
/// last event is verified while it is a head the network endorsed (one ECDSA check per new head, none while the stream
/// stands still); when it is not, the heads before it are tried, back to <see cref="LedgerAnchors.MaxStepsBack"/> of them.
/// Checking every head instead would cost a node's first fold of the ledger stream a signature check per head it ever held.
/// Members meeting the endorsement policy together can still sign a head over a tree the log never held; the honest
/// endorsers' witness (<see cref="LedgerWitness"/>) refuses to join them, and <c>verify</c> names the head.
/// </summary>
public sealed class EndorsedTreeHeads(IEventStore store, EventSerializer serializer)
{
    private Known? _known;

    private sealed record Known(long Version, byte[] Hash, EndorsedTreeHead? Head);

    /// <summary>
    /// The latest endorsed head at or before <paramref name="version"/>, whose event's stored hash is <paramref name="hash"/>
    /// (32 bytes; the stream's end as the caller read it); null when none of the last <see cref="LedgerAnchors.MaxStepsBack"/>
    /// events up to it is one (an empty stream included). Reads nothing when asked about the end it answered last.
    /// </summary>
    public async Task<EndorsedTreeHead?> LatestAsync(long version, byte[] hash, IEndorsementChecker checker, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(checker);
        if (Volatile.Read(ref _known) is { } known && known.Version == version && known.Hash.AsSpan().SequenceEqual(hash)) return known.Head;
        EndorsedTreeHead? found = null;
        for (var (at, passed) = (version, 0); at >= 0 && passed < LedgerAnchors.MaxStepsBack && found is null; at--, passed++)
            if (await store.ReadNextAsync(LedgerStream.StreamId, at, ct) is { } e && e.Version == at && await VerifiedAsync(e, serializer, checker, ct) is { } head)
                found = new EndorsedTreeHead(e, head, passed);
        Volatile.Write(ref _known, new Known(version, hash, found));
        return found;
    }

    /// <summary>The tree head <paramref name="e"/> holds, once its stored bytes hash to its stored hash and its endorsement verifies under <paramref name="checker"/>; else null.</summary>
    public static async Task<TreeHeadSigned?> VerifiedAsync(EventEnvelope e, EventSerializer serializer, IEndorsementChecker checker, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash)
            || (await checker.CheckAsync(new TransactionToCheck(LedgerStream.StreamId, [e], ChainIntact: true), ct)).Count > 0)
            return null;
        try
        {
            return serializer.Deserialize(e.Type, e.Data) is TreeHeadSigned { TreeSize: >= 1 } signed && IsHash(signed.RootHash) ? signed : null;
        }
        catch (UnreadableEventException)
        {
            return null;
        }
    }

    private static bool IsHash(string hex) =>
        hex.Length == 2 * MerkleTree.HashSize && Convert.FromHexString(hex, new byte[MerkleTree.HashSize], out _, out _) == System.Buffers.OperationStatus.Done;
}
