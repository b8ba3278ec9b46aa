using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Projections.Ledger;

/// <summary>An event of a stream (by version) and the latest tree head the global log stored before it, as the <c>ledger</c> stream stores it.</summary>
public sealed record HeadBefore(long Version, EventEnvelope Head);

/// <summary>
/// What dates one stream's transactions when it is verified on its own (docs/architecture.md, "Verification", point 5), as
/// <c>verify</c>'s pass over the global log does (<see cref="LedgerHeadClock"/>): for each event the ledger took in, the latest
/// tree head stored before it. The ledger view is only the index (the event's leaf, each head's place in the log); each
/// head is read back from the <c>ledger</c> stream, and dates anything only once its stored bytes hash to its stored hash
/// and its endorsement verifies under the verified network. An event the ledger has not taken in yet is dated once it has
/// (the view follows the log within moments). For GET /patients/{id}/verification (<see cref="DatesAsync"/>) and, unchecked,
/// for the browser to check itself (<see cref="HeadsAsync"/>, GET /patients/{id}/envelopes).
/// </summary>
public sealed class StoredAfterQuery(LedgerQuery ledger, IEventStore store)
{
    /// <summary>
    /// For each of <paramref name="streamId"/>'s ledgered events, in version order, the latest tree head stored before it
    /// (none before the first head, or before heads were placed: <see cref="LedgerTreeHead.LeafIndex"/>). Unchecked. Reads:
    /// the stream's leaves, the heads before them (one round trip), and each distinct head's event.
    /// </summary>
    public async Task<IReadOnlyList<HeadBefore>> HeadsAsync(string streamId, CancellationToken ct = default)
    {
        var leaves = await ledger.StreamLeavesAsync(streamId, ct);
        var heads = await ledger.HeadsBeforeAsync([.. leaves.Select(l => l.LeafIndex)], ct);
        var read = new Dictionary<Guid, EventEnvelope?>();
        var found = new List<HeadBefore>();
        foreach (var leaf in leaves)
        {
            if (!heads.TryGetValue(leaf.LeafIndex, out var view)) continue;
            if (!read.TryGetValue(view.EventId, out var head)) read[view.EventId] = head = await ReadHeadAsync(store, view, ct);
            if (head is not null) found.Add(new(leaf.Version, head));
        }
        return found;
    }

    /// <summary>
    /// <see cref="TransactionToCheck.StoredAfter"/> for each ledgered version of <paramref name="streamId"/> whose head before
    /// it verifies (<paramref name="checker"/>: the verified network's). A head that does not verify dates nothing here;
    /// the ledger stream's own problems are <c>verify</c>'s to report.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, DateTimeOffset>> DatesAsync(string streamId, IEndorsementChecker checker, CancellationToken ct = default)
    {
        var times = new Dictionary<Guid, DateTimeOffset?>();
        var dates = new Dictionary<long, DateTimeOffset>();
        foreach (var (version, head) in await HeadsAsync(streamId, ct))
        {
            if (!times.TryGetValue(head.EventId, out var at)) times[head.EventId] = at = await TimeOfAsync(head, checker, ct);
            if (at is { } time) dates[version] = time;
        }
        return dates;
    }

    /// <summary>The head's event at its version of the <c>ledger</c> stream, when it is the one the view names (else null).</summary>
    public static async Task<EventEnvelope?> ReadHeadAsync(IEventStore store, LedgerCheckpointView head, CancellationToken ct)
    {
        await foreach (var e in store.ReadStreamAsync(LedgerStream.StreamId, head.StreamVersion, ct))
            return e.Version == head.StreamVersion && e.EventId == head.EventId ? e : null;
        return null;
    }

    /// <summary>The head's metadata OccurredAt, once its bytes hash to its stored hash and its endorsement verifies; else null.</summary>
    private static async Task<DateTimeOffset?> TimeOfAsync(EventEnvelope head, IEndorsementChecker checker, CancellationToken ct)
    {
        if (!HashChain.ComputeHash(head).AsSpan().SequenceEqual(head.Hash)
            || (await checker.CheckAsync(new TransactionToCheck(LedgerStream.StreamId, [head], ChainIntact: true), ct)).Count > 0)
            return null;
        try
        {
            return EventMetadata.FromBytes(head.Metadata).OccurredAt;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return null; // the checker found it unreadable already; kept for a checker that does not read metadata
        }
    }
}
