using System.Text.Json;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Projections.Ledger;

/// <summary>
/// <see cref="LedgerCoverage"/> of one stream, with what it needs read (besides the view's version, which the caller reads before the stream): the stream's leaves from the ledger view, and the
/// latest signed tree head as the ledger stream stores it — its hash and endorsement checked here, so its root is the
/// hospitals' word rather than the view's — with the inclusion path, under it, of the stream's latest leaf it covers.
/// For GET /patients/{id}/verification; the whole-store verification uses <see cref="LedgerTails"/>.
/// </summary>
public sealed class LedgerCoverageQuery(LedgerQuery ledger, IEventStore store, EventSerializer serializer, Application.Commands.StreamLoader loader)
{
    // The node's own anchors (one reading per node, the same heads passed over as its decisions pass over).
    private readonly LedgerAnchors _anchors = loader.Anchors ?? new(store, serializer, ledger);

    /// <summary>
    /// Problems of <paramref name="streamId"/> (its events as just read, <paramref name="stored"/>) against the ledger and the
    /// node's view of it (<paramref name="viewedUpTo"/>, read before the stream); those of the signed head itself are
    /// reported on the <c>ledger</c> stream at the head's version.
    /// </summary>
    public async Task<IReadOnlyList<VerificationProblem>> CheckAsync(
        string streamId, IReadOnlyList<EventEnvelope> stored, IEndorsementChecker checker, long? viewedUpTo, CancellationToken ct = default)
    {
        var anchored = await AnchoredAsync(streamId, stored, checker, ct);
        var leaves = await ledger.StreamLeavesAsync(streamId, ct);
        if (leaves.Count == 0 || await ledger.LatestAsync(ct) is not { } latest)
            return Merge(anchored, LedgerCoverage.Check(streamId, stored, leaves, null, viewedUpTo));
        var (root, headProblems) = await SignedRootAsync(latest, checker, ct);
        SignedInclusion? inclusion = null;
        if (root is not null && leaves.Where(l => l.LeafIndex < latest.TreeSize).MaxBy(l => l.Version) is { } last)
        {
            var (proof, _) = await ledger.InclusionAsync(last.EventId, latest.TreeSize, ct);
            inclusion = new SignedInclusion(latest.TreeSize, root, [.. (proof?.Path ?? []).Select(ViewHex.Bytes)]);
        }
        return Merge(anchored, [.. headProblems, .. LedgerCoverage.Check(streamId, stored, leaves, inclusion, viewedUpTo)]);
    }

    /// <summary>
    /// The stream against the latest signed head this node ties to the log itself (<see cref="LedgerAnchors"/>): its last
    /// event stored before the head's last leaf must be proven under the head's root as it is stored now, whatever leaves
    /// the view lists (deleted ones included); the chain carries that proof back to version 0.
    /// </summary>
    private async Task<IReadOnlyList<VerificationProblem>> AnchoredAsync(
        string streamId, IReadOnlyList<EventEnvelope> stored, IEndorsementChecker checker, CancellationToken ct)
    {
        var reading = await _anchors.LatestAsync(checker, ct);
        var problems = new List<VerificationProblem>();
        // A later head that does not check is the ledger's problem (verify names it); hers only when no head proves her stream.
        if (reading is { Anchor: null, Damage: { } damage }) problems.Add(new(LedgerStream.StreamId, reading.DamageAt, LedgerMismatch, damage));
        if (reading.Unprovable is { } unprovable)
            problems.Add(new(LedgerStream.StreamId, 0, LedgerMismatch, $"Her trail cannot be proven under the signed tree heads now: {unprovable}."));
        try
        {
            if (reading.Anchor is { } anchor && stored.Where(anchor.Covers).MaxBy(e => e.Version) is { } last
                && await _anchors.ProblemAsync(anchor, last, ct) is { } problem)
                problems.Add(new(streamId, last.Version, LedgerMismatch, problem));
        }
        catch (LedgerUnprovableException e)
        {
            problems.Add(new(LedgerStream.StreamId, 0, LedgerMismatch, e.Message));
        }
        return problems;
    }

    /// <summary>Both lists' problems, one per stream and version (the first list's kept).</summary>
    private static IReadOnlyList<VerificationProblem> Merge(IReadOnlyList<VerificationProblem> first, IReadOnlyList<VerificationProblem> second) =>
        [.. first, .. second.Where(p => !first.Any(f => f.StreamId == p.StreamId && f.Version == p.Version))];

    /// <summary>The root of the view's latest head, once the ledger stream's event of it hashes, verifies and says the same (else null, and why).</summary>
    private async Task<(byte[]? Root, IReadOnlyList<VerificationProblem> Problems)> SignedRootAsync(
        LedgerCheckpointView latest, IEndorsementChecker checker, CancellationToken ct)
    {
        if (await StoredAfterQuery.ReadHeadAsync(store, latest, ct) is not { } head)
            return (null, [new(LedgerStream.StreamId, latest.StreamVersion, MissingEvent,
                $"The signed tree head of {latest.TreeSize} leaves is not at version {latest.StreamVersion} of the ledger stream.")]);
        var problems = new List<VerificationProblem>();
        var intact = HashChain.ComputeHash(head).AsSpan().SequenceEqual(head.Hash);
        if (!intact)
            problems.Add(new(LedgerStream.StreamId, head.Version, HashMismatch,
                $"The stored bytes of the signed tree head at version {head.Version} do not hash to its stored hash."));
        problems.AddRange(await checker.CheckAsync(new TransactionToCheck(LedgerStream.StreamId, [head], intact), ct));
        if (Read(head) is not { } signed || signed.TreeSize != latest.TreeSize || !string.Equals(signed.RootHash, latest.RootHash, StringComparison.Ordinal))
            problems.Add(new(LedgerStream.StreamId, head.Version, LedgerMismatch,
                $"The ledger view's tree head of {latest.TreeSize} leaves is not the one signed at version {head.Version}."));
        return (problems.Count == 0 ? ViewHex.Bytes(latest.RootHash) : null, problems);
    }

    private TreeHeadSigned? Read(EventEnvelope head)
    {
        try
        {
            return serializer.Deserialize(head.Type, head.Data) as TreeHeadSigned;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException)
        {
            return null;
        }
    }
}
