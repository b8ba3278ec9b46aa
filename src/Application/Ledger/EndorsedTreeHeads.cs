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
/// no member signed, over a tree of any size — taken as the last head, no honest head could ever grow past it. So is a
/// head signed with a key retired since and stamped before its rotation, written after honest heads stamped later: it is
/// judged as the endorsement checker judges a backdated transaction (<see cref="TransactionToCheck.StoredAfter"/>) — stamped
/// more than the backdate tolerance before the latest accepted head stored before it, it is not accepted.
/// <para>
/// Cost: a node reads the stream's last <see cref="LedgerAnchors.MaxStepsBack"/> events once (its first decision on the
/// ledger stream; one ECDSA check per head there), then only the events appended since (one check per new head), and
/// nothing while the stream stands still. The first head of that window has no accepted head before it to be dated by.
/// Members meeting the endorsement policy together can still sign a head over a tree the log never held; the honest
/// endorsers' witness (<see cref="LedgerWitness"/>) refuses to join them, and <c>verify</c> names the head.
/// </para>
/// </summary>
/// <param name="backdateTolerance">How far before an accepted head stored before it a head may be stamped (Endorsement:BackdateToleranceSeconds).</param>
public sealed class EndorsedTreeHeads(IEventStore store, EventSerializer serializer, TimeSpan backdateTolerance)
{
    private Known? _known;

    /// <summary>The stream's end as read last (version and stored hash), and its latest accepted head then.</summary>
    private sealed record Known(long Version, byte[] Hash, EndorsedTreeHead? Head);

    /// <summary>
    /// The latest accepted head at or before <paramref name="version"/>, whose event's stored hash is <paramref name="hash"/>
    /// (32 bytes; the stream's end as the caller read it); null when none of the last <see cref="LedgerAnchors.MaxStepsBack"/>
    /// events up to it is one (an empty stream included). Reads nothing when asked about the end it answered last.
    /// </summary>
    public async Task<EndorsedTreeHead?> LatestAsync(long version, byte[] hash, IEndorsementChecker checker, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(checker);
        var known = Volatile.Read(ref _known);
        if (known is not null && known.Version == version && known.Hash.AsSpan().SequenceEqual(hash)) return known.Head;
        // The events appended since the end read last, when the stream only grew from it (one read from that end); else the window afresh.
        var (found, scanned) = known is not null && known.Version < version && version - known.Version <= LedgerAnchors.MaxStepsBack
            ? await ScanAsync(known.Version, version, known, checker, ct)
            : (null, false);
        if (!scanned) (found, _) = await ScanAsync(Math.Max(0, version - LedgerAnchors.MaxStepsBack + 1), version, null, checker, ct);
        Volatile.Write(ref _known, new Known(version, hash, found));
        return found;
    }

    /// <summary>
    /// The latest accepted head among the events from <paramref name="from"/> to <paramref name="to"/>, after
    /// <paramref name="extending"/>'s head (whose end, at <paramref name="from"/>, must still be served as read, else nothing is
    /// scanned: false).
    /// </summary>
    private async Task<(EndorsedTreeHead? Head, bool Scanned)> ScanAsync(long from, long to, Known? extending, IEndorsementChecker checker, CancellationToken ct)
    {
        var head = extending?.Head;
        var first = extending is not null;
        await foreach (var e in store.ReadStreamAsync(LedgerStream.StreamId, from, ct))
        {
            if (first)
            {
                // The end read last must still be served as read (not deleted or rewritten since), else read the window afresh.
                if (e.Version != from || !e.Hash.AsSpan().SequenceEqual(extending!.Hash)) return (null, false);
                first = false;
                continue;
            }
            if (e.Version > to) break;
            head = await AcceptedAsync(e, head, checker, ct) is { } signed ? new EndorsedTreeHead(e, signed, 0)
                : head is null ? null : head with { PassedOver = head.PassedOver + 1 };
        }
        return first ? (null, false) : (head, true);
    }

    /// <summary><paramref name="e"/>'s tree head when it verifies and is not stamped more than the tolerance before <paramref name="before"/> (the latest accepted head stored before it).</summary>
    private async Task<TreeHeadSigned?> AcceptedAsync(EventEnvelope e, EndorsedTreeHead? before, IEndorsementChecker checker, CancellationToken ct)
    {
        if (await VerifiedAsync(e, serializer, checker, ct) is not { } signed) return null;
        return before is null || StampOf(e) >= StampOf(before.Envelope) - backdateTolerance ? signed : null;
    }

    /// <summary>The transaction's time as endorsed (metadata OccurredAt; a verified event's metadata reads).</summary>
    private static DateTimeOffset StampOf(EventEnvelope e) => EventMetadata.FromBytes(e.Metadata).OccurredAt;

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
