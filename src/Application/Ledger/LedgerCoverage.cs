using HealthEvents.Application.Ports;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// An event the ledger took in as a leaf of the global tree (docs/architecture.md, "The ledger"): which stream and
/// version it was, its id, and its stored hash at the time.
/// </summary>
/// <param name="LeafIndex">Its position in the global tree (0-based, RFC 9162 leaf index).</param>
/// <param name="Hash">The event's stored hash (32 bytes) when the ledger took it in.</param>
public sealed record LedgeredEvent(string StreamId, Guid EventId, long Version, long LeafIndex, byte[] Hash);

/// <summary>A signed tree head (size, root: the ledger stream's endorsed event) and an RFC 9162 §2.1.3 inclusion path under it.</summary>
public sealed record SignedInclusion(long TreeSize, byte[] Root, IReadOnlyList<byte[]> Path);

/// <summary>
/// What a stream's own chain cannot show: that events were cut off its end (docs/architecture.md, "The ledger"). Two
/// witnesses saw the stream longer than it may be now. The ledger: once it has taken an event in, the stream must still
/// hold it at its version with the same hash, and the latest signed tree head must prove the stream's latest ledgered
/// event, whose hash the chain then carries back to version 0. And, before the next tree head, the node's own view of
/// the stream (the patient's audit view): it never runs ahead of the stream, so a stream serving fewer versions than it
/// applied was cut. A deleted tail is reported as <see cref="VerificationCodes.MissingEvent"/> at the first version gone
/// (a stream serving nothing that was seen as <see cref="VerificationCodes.StreamTruncated"/> at 0), a different event at
/// a ledgered version (or one the signed head does not prove) as <see cref="VerificationCodes.LedgerMismatch"/>.
/// Pure: the callers read the leaves (the ledger view), the events (the store), the signed head and the view's version.
/// </summary>
public static class LedgerCoverage
{
    /// <summary>
    /// Every leaf of <paramref name="streamId"/> against the stream as read (<paramref name="stored"/>, any order), and
    /// <paramref name="latest"/>: the inclusion, under the latest signed head, of the stream's latest leaf that head covers
    /// (null when the head covers none of the stream); and <paramref name="viewedUpTo"/>, the last version the node's view
    /// of the stream applied (null: none). Problems in version order, one per version (the view's first).
    /// </summary>
    public static IReadOnlyList<VerificationProblem> Check(
        string streamId, IReadOnlyList<EventEnvelope> stored, IReadOnlyList<LedgeredEvent> leaves, SignedInclusion? latest,
        long? viewedUpTo = null)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(leaves);
        var byVersion = new Dictionary<long, EventEnvelope>();
        foreach (var e in stored) byVersion.TryAdd(e.Version, e);
        var problems = new SortedDictionary<long, VerificationProblem>();
        if (Viewed(streamId, stored.Count, viewedUpTo) is { } cut) problems.Add(cut.Version, cut);
        foreach (var leaf in leaves.Where(l => l.StreamId == streamId))
            if (Check(leaf, byVersion.TryGetValue(leaf.Version, out var e) ? (e.EventId, e.Hash) : null) is { } problem)
                problems.TryAdd(problem.Version, problem);
        if (latest is not null && leaves.Where(l => l.StreamId == streamId && l.LeafIndex < latest.TreeSize).MaxBy(l => l.Version) is { } proven
            && !Proves(latest, proven, byVersion.GetValueOrDefault(proven.Version)))
            problems.TryAdd(proven.Version, new(streamId, proven.Version, LedgerMismatch,
                $"The signed tree head of {latest.TreeSize} leaves does not prove version {proven.Version} (leaf {proven.LeafIndex})."));
        return [.. problems.Values];
    }

    /// <summary>
    /// A stream serving <paramref name="served"/> events (versions 0 to served - 1), while the node's view applied versions
    /// up to <paramref name="viewedUpTo"/>: deleted or truncated past the service (EventStoreDB's soft delete, <c>$tb</c>) is
    /// <c>stream-truncated</c> at version 0, as <c>verify</c> says; a tail cut off is <c>missing-event</c> at the first
    /// version no longer served. Null when the stream serves at least what the view saw.
    /// </summary>
    public static VerificationProblem? Viewed(string streamId, long served, long? viewedUpTo)
    {
        if (viewedUpTo is not { } last || served > last) return null;
        return served == 0
            ? new(streamId, 0, StreamTruncated, $"The stream serves no events, while the audit view applied versions up to {last} (deleted past the service).")
            : new(streamId, served, MissingEvent, $"The stream ends before version {served}, while the audit view applied versions up to {last} (cut past the service).");
    }

    /// <summary>One ledgered event against the id and hash the stream holds at its version (null: nothing): the problem, or null when it is there.</summary>
    public static VerificationProblem? Check(LedgeredEvent leaf, (Guid EventId, byte[] Hash)? stored)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        if (stored is not { } held)
            return new(leaf.StreamId, leaf.Version, MissingEvent,
                $"Version {leaf.Version} is gone from the stream, though the ledger took it in (leaf {leaf.LeafIndex}): events were deleted.");
        return held.EventId == leaf.EventId && held.Hash.AsSpan().SequenceEqual(leaf.Hash)
            ? null
            : new(leaf.StreamId, leaf.Version, LedgerMismatch,
                $"Version {leaf.Version} is not the event the ledger took in at leaf {leaf.LeafIndex}: its id or hash differs.");
    }

    /// <summary>Whether the signed head proves the leaf, with the hash the stream holds now (the leaf's own when it is gone: then it is reported missing anyway).</summary>
    private static bool Proves(SignedInclusion head, LedgeredEvent leaf, EventEnvelope? stored) =>
        MerkleTree.VerifyInclusion(stored?.Hash ?? leaf.Hash, leaf.LeafIndex, head.TreeSize, head.Path, head.Root);
}

/// <summary>
/// <see cref="LedgerCoverage"/> over a whole store, in its one pass over the global log: each stream's latest ledgered
/// event is looked for as the log goes by (<see cref="StoreVerifierOptions.Observe"/>); a stream whose chain holds and
/// ends early — its tail deleted, or the whole stream — is reported at that version. Memory: one entry per stream.
/// </summary>
public sealed class LedgerTails(IReadOnlyDictionary<string, LedgeredEvent> latestPerStream)
{
    private readonly Dictionary<string, (Guid EventId, byte[] Hash)> _found = new(StringComparer.Ordinal);

    public void Observe(EventEnvelope e)
    {
        if (latestPerStream.TryGetValue(e.StreamId, out var leaf) && leaf.Version == e.Version) _found[e.StreamId] = (e.EventId, e.Hash);
    }

    /// <summary>The report with each stream's ledger problem added (one per stream, unless its chain already named that version).</summary>
    public StoreVerificationReport AddTo(StoreVerificationReport report)
    {
        var streams = report.BrokenStreams.ToList();
        var added = 0L;
        foreach (var leaf in latestPerStream.Values.OrderBy(l => l.LeafIndex))
        {
            if (LedgerCoverage.Check(leaf, _found.TryGetValue(leaf.StreamId, out var held) ? held : null) is not { } problem) continue;
            var at = streams.FindIndex(s => s.StreamId == leaf.StreamId);
            if (at < 0)
            {
                streams.Add(new StreamVerificationResult(leaf.StreamId, 0, problem.Version, [problem], false));
                added++;
            }
            else if (streams[at].Problems.All(p => p.Version != problem.Version))
                streams[at] = streams[at] with
                {
                    FirstBrokenVersion = Math.Min(streams[at].FirstBrokenVersion ?? long.MaxValue, problem.Version),
                    Problems = [.. streams[at].Problems, problem],
                };
        }
        return added == 0 ? report with { BrokenStreams = streams }
            : report with { Verified = false, BrokenStreamCount = report.BrokenStreamCount + added, BrokenStreams = streams };
    }
}
