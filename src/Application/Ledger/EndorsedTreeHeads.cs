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
/// Cost: a node's first reading walks back from the stream's end for <see cref="BaselineHeads"/> heads that verify (one
/// ECDSA check per event read, junk included, at most <see cref="MaxEventsBack"/>); after that only the events appended
/// since (one check per new event), and nothing while the stream stands still. The oldest head of a first reading has
/// none before it to be dated by.
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
    /// (32 bytes; the stream's end as the caller read it); null when none is found (an empty stream, or none
    /// verifying among the last <see cref="MaxEventsBack"/> events a first reading looks at). Reads nothing when asked about the end it answered last.
    /// </summary>
    public async Task<EndorsedTreeHead?> LatestAsync(long version, byte[] hash, IEndorsementChecker checker, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(checker);
        var known = Volatile.Read(ref _known);
        if (known is not null && known.Version == version && known.Hash.AsSpan().SequenceEqual(hash)) return known.Head;
        // Every event appended since the end read last, however many, when the stream only grew from it; else read afresh.
        var (found, extended) = known is not null && known.Version < version ? await ExtendAsync(known, version, checker, ct) : (null, false);
        if (!extended) found = await AfreshAsync(version, checker, ct);
        if (found is not null) found = found with { PassedOver = (int)Math.Min(int.MaxValue, version - found.Envelope.Version) };
        Volatile.Write(ref _known, new Known(version, hash, found));
        return found;
    }

    /// <summary>How many verified heads a node reading the stream afresh looks back for (<see cref="AfreshAsync"/>).</summary>
    public const int BaselineHeads = 64;

    /// <summary>How many events, at most, a node reading the stream afresh reads back for them.</summary>
    public const int MaxEventsBack = 10_000;

    /// <summary>
    /// The latest accepted head up to <paramref name="to"/> after <paramref name="known"/>'s, from the events appended since
    /// (one read from its end, which must still be served as read: false otherwise, and nothing is taken from it).
    /// </summary>
    private async Task<(EndorsedTreeHead? Head, bool Extended)> ExtendAsync(Known known, long to, IEndorsementChecker checker, CancellationToken ct)
    {
        var head = known.Head;
        var first = true;
        await foreach (var e in store.ReadStreamAsync(LedgerStream.StreamId, known.Version, ct))
        {
            if (first)
            {
                // The end read last must still be served as read (not deleted or rewritten since), else read afresh.
                if (e.Version != known.Version || !e.Hash.AsSpan().SequenceEqual(known.Hash)) return (null, false);
                first = false;
                continue;
            }
            if (e.Version > to) break;
            if (await AcceptedAsync(e, head, checker, ct) is { } signed) head = new EndorsedTreeHead(e, signed, 0);
        }
        return first ? (null, false) : (head, true);
    }

    /// <summary>
    /// A node's first reading (or one after the stream was cut): back from <paramref name="to"/>, in pages, the heads that
    /// verify — junk is read past, not counted — until <see cref="BaselineHeads"/> are found, the stream's start, or
    /// <see cref="MaxEventsBack"/> events; then forwards, each accepted unless stamped more than the tolerance before the
    /// accepted one before it. The oldest found has none before it to be dated by: thieves must write more backdated heads
    /// in a row than <see cref="BaselineHeads"/> (or bury honest ones under more junk than <see cref="MaxEventsBack"/>).
    /// </summary>
    private async Task<EndorsedTreeHead?> AfreshAsync(long to, IEndorsementChecker checker, CancellationToken ct)
    {
        var verified = new List<(EventEnvelope Event, TreeHeadSigned Head)>();
        for (var (end, read) = (to, 0); end >= 0 && read < MaxEventsBack && verified.Count < BaselineHeads;)
        {
            var from = Math.Max(0, end - LedgerAnchors.MaxStepsBack + 1);
            var page = new List<(EventEnvelope, TreeHeadSigned)>();
            await foreach (var e in store.ReadStreamAsync(LedgerStream.StreamId, from, ct))
            {
                if (e.Version > end) break;
                read++;
                if (await VerifiedAsync(e, serializer, checker, ct) is { } signed) page.Add((e, signed));
            }
            verified.InsertRange(0, page);
            end = from - 1;
        }
        EndorsedTreeHead? head = null;
        foreach (var (e, signed) in verified)
            if (head is null || WithinTolerance(e, head)) head = new EndorsedTreeHead(e, signed, 0);
        return head;
    }

    /// <summary><paramref name="e"/>'s tree head when it verifies and is not stamped more than the tolerance before <paramref name="before"/> (the latest accepted head stored before it).</summary>
    private async Task<TreeHeadSigned?> AcceptedAsync(EventEnvelope e, EndorsedTreeHead? before, IEndorsementChecker checker, CancellationToken ct)
    {
        if (await VerifiedAsync(e, serializer, checker, ct) is not { } signed) return null;
        return before is null || WithinTolerance(e, before) ? signed : null;
    }

    /// <summary>Whether <paramref name="e"/> is stamped no more than the tolerance before <paramref name="before"/> (a difference: no overflow at either end of time).</summary>
    private bool WithinTolerance(EventEnvelope e, EndorsedTreeHead before) => StampOf(before.Envelope) - StampOf(e) <= backdateTolerance;

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
