using System.Diagnostics;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>How the whole store is verified.</summary>
public sealed record StoreVerifierOptions
{
    public static readonly StoreVerifierOptions Default = new();

    /// <summary>Checks each transaction's endorsement; null: hash chains and transaction boundaries only.</summary>
    public IEndorsementChecker? EndorsementChecker { get; init; }

    /// <summary>The network's founding this node trusts (<see cref="StreamVerifierOptions.Genesis"/>); null: the store's own.</summary>
    public Network.NetworkGenesisPin? Genesis { get; init; }

    /// <summary>Called every <see cref="ProgressInterval"/> events and once at the end.</summary>
    public Action<StoreVerificationProgress>? Progress { get; init; }

    public int ProgressInterval { get; init; } = 10_000;

    /// <summary>Shown every event of the pass, in global order (<see cref="LedgerTails"/> looks for the streams' ledgered ends).</summary>
    public Action<EventEnvelope>? Observe { get; init; }

    /// <summary>Events read from the global log per round trip.</summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>Problems kept per stream (past this, counted only); see <see cref="StreamVerifierOptions.MaxProblems"/>.</summary>
    public int MaxProblemsPerStream { get; init; } = 100;

    /// <summary>Broken streams whose problems are kept in the report (past this, counted only).</summary>
    public int MaxBrokenStreams { get; init; } = 1000;

    /// <summary>
    /// How long the pass waits, at the log's apparent end, for events held back behind a transaction still in flight
    /// (<see cref="IEventStore.HoldsBackAsync"/>) before it ends without them (<see cref="StoreVerificationReport.HeldBack"/>).
    /// </summary>
    public TimeSpan HeldBackWait { get; init; } = TimeSpan.FromSeconds(30);

}

/// <summary>Where a run stands: events and streams seen, and the pace.</summary>
public sealed record StoreVerificationProgress(long Events, long Streams, double EventsPerSecond, TimeSpan Elapsed);

/// <summary>One stream that did not verify: its problems, each at its exact version.</summary>
public sealed record StreamVerificationResult(string StreamId, long Events, long? FirstBrokenVersion, IReadOnlyList<VerificationProblem> Problems, bool Truncated);

/// <summary>
/// The outcome of verifying a whole store. <see cref="BrokenStreams"/> lists the streams with problems, in
/// the order the global log first reached them (bounded by <see cref="StoreVerifierOptions.MaxBrokenStreams"/>;
/// <see cref="BrokenStreamCount"/> counts them all).
/// </summary>
public sealed record StoreVerificationReport(
    bool Verified,
    long Events,
    long Streams,
    long BrokenStreamCount,
    IReadOnlyList<StreamVerificationResult> BrokenStreams,
    TimeSpan Elapsed)
{
    /// <summary>
    /// Whether the pass ended with committed events still held back behind a transaction in flight for longer than
    /// <see cref="StoreVerifierOptions.HeldBackWait"/>: they were not verified, and a later run should be. The report is
    /// then not <see cref="Verified"/>.
    /// </summary>
    public bool HeldBack { get; init; }

    /// <summary>Every problem kept, stream by stream.</summary>
    public IEnumerable<VerificationProblem> Problems => BrokenStreams.SelectMany(s => s.Problems);
}

/// <summary>
/// Verifies the whole store in one pass over the global log (docs/architecture.md, "The envelope and the hash chain"):
/// pages of <see cref="IEventStore.ReadAllAsync"/>, each event handed to the verifier state of its stream —
/// the same per-stream checks as <see cref="StreamVerifier"/>, since a stream's events reach the global log in
/// version order. It dates each transaction by the endorsed ledger heads it has met in the global order before it
/// (<see cref="TransactionToCheck.StoredAfter"/>, <see cref="VerificationCodes.Backdated"/>; a stream verified alone is dated
/// from the ledger view's index of that order instead: <see cref="StoredAfterChecker"/>). Memory is one small state per
/// stream (its last hash and open transaction), whatever the number of events. Reads until the log returns nothing more
/// and holds nothing back (an event committed behind an older transaction still in flight is waited for, up to
/// <see cref="StoreVerifierOptions.HeldBackWait"/>: an operator who runs verify right after a write must see it), so
/// events appended meanwhile are verified too.
/// </summary>
public static class StoreVerifier
{
    public static async Task<StoreVerificationReport> VerifyAsync(IEventStore store, StoreVerifierOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= StoreVerifierOptions.Default;
        var pageSize = Math.Max(1, options.PageSize);
        var interval = Math.Max(1, options.ProgressInterval);
        var checker = options.EndorsementChecker;
        var streamOptions = new StreamVerifierOptions { EndorsementChecker = checker, MaxProblems = options.MaxProblemsPerStream, Genesis = options.Genesis };

        // Insertion order is kept by Dictionary while nothing is removed: the report lists streams as the log first reached them.
        var streams = new Dictionary<string, StreamVerifierState>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        long events = 0;
        GlobalPosition? after = null;
        var startInLog = new HashSet<string>(StringComparer.Ordinal); // streams whose version 0 the log holds
        var heads = new LedgerHeadClock(); // what the log's order proves about each transaction's time
        Stopwatch? heldBack = null; // since when the apparent end holds committed events back
        while (true)
        {
            var page = await store.ReadAllAsync(after, pageSize, ct).ConfigureAwait(false);
            // Nothing held back now, but what was held back when the page was read may have been released since (the
            // older transaction ended in between): only a read after that answer shows the log's end.
            if (page.Count == 0 && !await store.HoldsBackAsync(after, ct).ConfigureAwait(false)
                && (page = await store.ReadAllAsync(after, pageSize, ct).ConfigureAwait(false)).Count == 0)
            {
                heldBack = null;
                break;
            }
            if (page.Count == 0)
            {
                heldBack ??= Stopwatch.StartNew();
                if (heldBack.Elapsed >= options.HeldBackWait) break;
                await Task.Delay(TimeSpan.FromMilliseconds(50), ct).ConfigureAwait(false);
                continue;
            }
            heldBack = null;
            foreach (var e in page)
            {
                ct.ThrowIfCancellationRequested();
                if (!streams.TryGetValue(e.StreamId, out var state))
                    streams.Add(e.StreamId, state = new StreamVerifierState(streamOptions));
                if (e.Version == 0) startInLog.Add(e.StreamId);
                options.Observe?.Invoke(e);
                if (state.Accept(e) is { } accepted)
                {
                    var transaction = heads.Date(accepted);
                    var problems = await checker!.CheckAsync(transaction, ct).ConfigureAwait(false);
                    heads.Checked(transaction, problems);
                    state.AddAll(problems);
                }
                if (++events % interval == 0) Report(options, events, streams.Count, clock);
            }
            after = page[^1].Position
                ?? throw new InvalidOperationException("The global log returned an event without its position.");
        }

        var broken = new List<StreamVerificationResult>();
        long brokenCount = 0;
        foreach (var (streamId, state) in streams)
        {
            var report = state.Finish();
            // Only where the log holds version 0: else the chain check has already reported it missing.
            // After the pass, one short read per stream, and only where a stream can serve less than the log holds
            // (VerificationCodes.StreamTruncated): on PostgreSQL both are one table and there is nothing to find.
            if (store.StreamsCanHideLoggedEvents && startInLog.Contains(streamId)
                && await FirstServedVersionAsync(store, streamId, ct).ConfigureAwait(false) is { } first and > 0)
                report = report with
                {
                    Verified = false,
                    FirstBrokenVersion = 0,
                    Problems = [new VerificationProblem(streamId, 0, VerificationCodes.StreamTruncated, first == long.MaxValue
                        ? "The stream serves none of the events the global log holds (deleted past the store)."
                        : $"The stream serves no version below {first}, which the global log holds (truncated past the store)."), .. report.Problems],
                };
            if (report.Verified) continue;
            brokenCount++;
            if (broken.Count < options.MaxBrokenStreams)
                broken.Add(new StreamVerificationResult(streamId, report.Events, report.FirstBrokenVersion, report.Problems, report.Truncated));
        }
        if (events % interval != 0 || events == 0) Report(options, events, streams.Count, clock);
        // Events the log holds back were not verified: a store is not verified while any are, however long they stay (a row
        // given a transaction id no transaction reaches is held back for good, yet stream reads serve it).
        return new StoreVerificationReport(brokenCount == 0 && heldBack is null, events, streams.Count, brokenCount, broken, clock.Elapsed) { HeldBack = heldBack is not null };
    }

    /// <summary>The version a read of the stream starts at; long.MaxValue when it serves nothing; null when it starts at 0.</summary>
    private static async Task<long?> FirstServedVersionAsync(IEventStore store, string streamId, CancellationToken ct) =>
        await store.ReadFirstAsync(streamId, ct).ConfigureAwait(false) switch
        {
            null => long.MaxValue,
            { Version: 0 } => null,
            var first => first.Version,
        };

    private static void Report(StoreVerifierOptions options, long events, long streams, Stopwatch clock)
    {
        if (options.Progress is not { } progress) return;
        var seconds = clock.Elapsed.TotalSeconds;
        progress(new StoreVerificationProgress(events, streams, seconds > 0 ? events / seconds : 0, clock.Elapsed));
    }
}
