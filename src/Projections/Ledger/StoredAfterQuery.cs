using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Projections.Ledger;

/// <summary>An event of a stream (by version) and the latest tree head the global log stored before it, as the <c>ledger</c> stream stores it.</summary>
public sealed record HeadBefore(long Version, EventEnvelope Head);

/// <summary>
/// What dates one stream's transactions when it is verified on its own (docs/architecture.md, "Verification", point 5), as
/// <c>verify</c>'s pass over the global log does (<see cref="LedgerHeadClock"/>): for each event, the latest tree head stored
/// before it, by two witnesses of which the later head counts. The store's global order: the head the global log holds
/// last before the event's position, found in the <c>ledger</c> stream itself (the view's hint checked with the head after
/// it, else a binary search by position, O(log n) single-event reads). And the ledger view's record: the head it placed
/// last before the event's leaf, read back from the <c>ledger</c> stream. Forging one witness (a <c>transaction_id</c>
/// rewritten on PostgreSQL, the view's places moved or its leaves or heads deleted) leaves the other; only both together,
/// which <c>verify</c>'s recomputation of the tree against the signed roots names, go unseen here. Each head dates
/// anything only once its stored bytes hash to its stored hash and its endorsement verifies under the verified network.
/// For GET /patients/{id}/verification (<see cref="DatesAsync"/>) and, unchecked, for the browser to check itself
/// (<see cref="HeadsAsync"/>, GET /patients/{id}/envelopes).
/// </summary>
public sealed class StoredAfterQuery(LedgerQuery ledger, IEventStore store)
{
    /// <summary>
    /// For each of the stream's events (<paramref name="stored"/>: as just read, with their global positions), in version
    /// order, the latest tree head stored before it (none before the first head). Unchecked. Two witnesses, and the later
    /// head of the two counts, so that forging one is not enough: the store's global order (the event's position; on
    /// PostgreSQL a writer can rewrite it) and the ledger view's record of where the ledger took the event in (its leaf
    /// and the heads placed before it; a writer of the read models can edit it). A version with neither is not dated.
    /// Reads: the stream's leaves, the view's heads before them (one round trip), and single events of the ledger stream
    /// (per distinct head, the head and the one after it).
    /// </summary>
    public async Task<IReadOnlyList<HeadBefore>> HeadsAsync(string streamId, IReadOnlyList<EventEnvelope> stored, CancellationToken ct = default)
    {
        var leaves = await ledger.StreamLeavesAsync(streamId, ct);
        var hints = await ledger.HeadsBeforeAsync([.. leaves.Select(l => l.LeafIndex)], ct);
        var viewed = new Dictionary<long, LedgerCheckpointView>();
        foreach (var leaf in leaves)
            // A head whose signed tree holds the leaf was stored after it, wherever the view places it.
            if (hints.TryGetValue(leaf.LeafIndex, out var hint) && hint.TreeSize <= leaf.LeafIndex) viewed.TryAdd(leaf.Version, hint);
        var heads = new LedgerHeads(store);
        var found = new List<HeadBefore>();
        long? previous = null; // the head before the previous event: the next one's is the same or a later one
        foreach (var e in stored.DistinctBy(e => e.Version).OrderBy(e => e.Version))
        {
            var hint = viewed.GetValueOrDefault(e.Version);
            var byView = hint is null ? null : await heads.AtAsync(hint.StreamVersion, hint.EventId, ct);
            var byLog = e.Position is { } at ? await heads.LatestBeforeAsync(at, hint?.StreamVersion ?? previous, ct) : null;
            var head = byLog is null || (byView is not null && byView.Version > byLog.Version) ? byView : byLog;
            if (head is null) continue;
            found.Add(new(e.Version, head));
            previous = head.Version;
        }
        return found;
    }

    /// <summary>
    /// How many tree heads that verify, before the one stored last before an event, also date it: a head stamped well before
    /// the heads stored before it in the ledger stream (one signed with a key retired since, by thieves and a colluding
    /// member) would otherwise date a backdated transaction stored after it as honest. Events there that do not verify
    /// (junk the store writer appends) are read past, not counted, up to <see cref="LedgerAnchors.MaxStepsBack"/> versions
    /// back. Thieves who append more than this many backdated heads in a row are seen by <c>verify</c>'s pass over the whole
    /// log (<see cref="LedgerHeadClock"/>), not here.
    /// </summary>
    public const int BackdateWindow = 8;

    /// <summary>A tree head of an event's window, as stored, with its verified time (null: it does not verify).</summary>
    public sealed record WindowHead(EventEnvelope Head, DateTimeOffset? Time);

    /// <summary>
    /// For each event <see cref="HeadsAsync"/> dates, in version order, the heads whose latest verified time dates it: the
    /// head stored last before it (verified or not) and the <see cref="BackdateWindow"/> heads that verify
    /// (<paramref name="checker"/>) before that one in the <c>ledger</c> stream. The heads dating its earlier versions date it
    /// too (they were stored before it): the caller carries the latest time forward. Reads: per distinct head, the single
    /// events of the ledger stream back to its window's last head, each read and verified once.
    /// </summary>
    public async Task<IReadOnlyList<(long Version, IReadOnlyList<WindowHead> Heads)>> WindowsAsync(
        string streamId, IReadOnlyList<EventEnvelope> stored, IEndorsementChecker checker, CancellationToken ct = default)
    {
        var read = new Dictionary<long, WindowHead?>();
        var windows = new List<(long, IReadOnlyList<WindowHead>)>();
        foreach (var (version, head) in (await HeadsAsync(streamId, stored, ct)).OrderBy(h => h.Version))
        {
            if (!read.TryGetValue(head.Version, out var own) || own is null) read[head.Version] = own = new(head, await TimeOfAsync(head, checker, ct));
            var window = new List<WindowHead> { own };
            for (var v = head.Version - 1; v >= 0 && v >= head.Version - LedgerAnchors.MaxStepsBack && window.Count <= BackdateWindow; v--)
            {
                if (!read.TryGetValue(v, out var at))
                    read[v] = at = await store.ReadNextAsync(LedgerStream.StreamId, v, ct) is { } e && e.Version == v ? new(e, await TimeOfAsync(e, checker, ct)) : null;
                if (at is { Time: not null }) window.Add(at);
            }
            windows.Add((version, window));
        }
        return windows;
    }

    /// <summary>
    /// <see cref="TransactionToCheck.StoredAfter"/> for each version of <paramref name="streamId"/> (its events as
    /// just read: <paramref name="stored"/>): the latest verified time (<paramref name="checker"/>: the verified network's)
    /// among the heads of its window (<see cref="WindowsAsync"/>) and of its earlier versions' windows. A head that does not
    /// verify dates nothing here; the ledger stream's own problems are <c>verify</c>'s to report.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, DateTimeOffset>> DatesAsync(
        string streamId, IReadOnlyList<EventEnvelope> stored, IEndorsementChecker checker, CancellationToken ct = default)
    {
        var dates = new Dictionary<long, DateTimeOffset>();
        DateTimeOffset? latest = null;
        foreach (var (version, heads) in await WindowsAsync(streamId, stored, checker, ct))
        {
            foreach (var head in heads)
                if (head.Time is { } t && (latest is null || t > latest)) latest = t;
            if (latest is { } date) dates[version] = date;
        }
        return dates;
    }

    /// <summary>The head's event at its version of the <c>ledger</c> stream, when it is the one the view names (else null).</summary>
    public static async Task<EventEnvelope?> ReadHeadAsync(IEventStore store, LedgerCheckpointView head, CancellationToken ct)
    {
        var e = await store.ReadNextAsync(LedgerStream.StreamId, head.StreamVersion, ct);
        return e is not null && e.Version == head.StreamVersion && e.EventId == head.EventId ? e : null;
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

/// <summary>
/// The <c>ledger</c> stream's tree heads by global position, read one event at a time and kept for the request: which head
/// the global log stored last before a position, found from a hint (a version) in two reads when the hint is right, by
/// binary search over the stream's versions when it is not.
/// </summary>
internal sealed class LedgerHeads(IEventStore store)
{
    private readonly Dictionary<long, EventEnvelope?> _read = [];
    private long? _last;

    /// <summary>The latest head stored before <paramref name="position"/>, or null when the ledger stream stored none before it.</summary>
    public async Task<EventEnvelope?> LatestBeforeAsync(GlobalPosition position, long? hint, CancellationToken ct)
    {
        if (hint is { } k && await NextAsync(k, ct) is { Version: var at } head && at == k && head.Position < position
            && await NextAsync(k + 1, ct) is var after && (after is null || after.Position > position))
            return head;
        if (hint is null && await NextAsync(0, ct) is var first && (first is null || first.Position > position)) return null;
        // The hint is not the store's order (or a head has no position): search the stream itself.
        _last ??= (await store.ReadLastAsync(LedgerStream.StreamId, ct))?.Version ?? -1;
        EventEnvelope? latest = null;
        var (low, high) = (0L, _last.Value);
        while (low <= high)
        {
            var mid = low + (high - low) / 2;
            if (await NextAsync(mid, ct) is not { } e || e.Version > high) high = mid - 1;
            else if (e.Position < position)
            {
                latest = e;
                low = e.Version + 1;
            }
            else high = mid - 1;
        }
        return latest;
    }

    /// <summary>The head at <paramref name="version"/> of the ledger stream when it is the event <paramref name="eventId"/> (else null).</summary>
    public async Task<EventEnvelope?> AtAsync(long version, Guid eventId, CancellationToken ct) =>
        await NextAsync(version, ct) is { } e && e.Version == version && e.EventId == eventId ? e : null;

    /// <summary>The first head the ledger stream serves at or after <paramref name="version"/> (one read, kept).</summary>
    private async Task<EventEnvelope?> NextAsync(long version, CancellationToken ct)
    {
        if (!_read.TryGetValue(version, out var e)) _read[version] = e = await store.ReadNextAsync(LedgerStream.StreamId, version, ct);
        return e;
    }
}
