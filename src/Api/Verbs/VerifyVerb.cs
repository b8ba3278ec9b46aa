using System.CommandLine;
using HealthEvents.Api.Verbs.Progress;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;
using HealthEvents.Projections.Ledger;
using HealthEvents.Projections.Runner;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// `verify`: the whole store, in four steps — load the network's keys and policies; each stream's latest event the ledger
/// took in; every stream's hash links, every transaction's signatures against the keys valid at its time and the policy
/// then in force (docs/architecture.md, "The envelope and the hash chain"), and each stream still holding its ledgered
/// end (a stream cut short, or dropped, is named at the version it lacks); the latest signed ledger head against the
/// store. Each broken stream and version goes to standard output, then the verdict.
/// </summary>
public static class VerifyVerb
{
    public static Command Create(Option<string?> data)
    {
        var command = new Command("verify", "Verify the whole store: hash links, endorsement signatures, policies, and the latest signed ledger head");
        command.SetAction((parsed, ct) => VerbHost.RunAsync(DataOption.Settings(parsed, data), services => VerifyAsync(services, ct)));
        return command.WithExitCodes(
            (ExitCodes.Ok, "verified: every link, signature and policy holds, and the signed ledger head matches"),
            (ExitCodes.Problems, "NOT verified: the problems are listed on standard output, stream and version"),
            ExitCodes.UsageLine, ExitCodes.FailedLine, ExitCodes.InterruptedLine);
    }

    private sealed record Outcome(StoreVerificationReport Report, bool LedgerHolds, string LedgerLine);

    private static async Task<int> VerifyAsync(IServiceProvider services, CancellationToken ct)
    {
        // The verdict is written once the live display has ended, so the two never interleave on a terminal.
        var (report, ledgerHolds, ledgerLine) = await StepProgress.RunAsync(progress => CheckAsync(services, progress, ct));
        foreach (var problem in report.Problems)
            Console.WriteLine($"{problem.StreamId} v{problem.Version}: {problem.Code}: {problem.Message}");
        Console.WriteLine(report.Verified
            ? $"verified: {report.Events:N0} events in {report.Streams:N0} streams, every link, signature and policy holds"
            : $"NOT verified: {report.BrokenStreamCount:N0} of {report.Streams:N0} streams have problems");
        if (report.HeldBack)
            Console.WriteLine($"not read: events committed after the last one verified are held back behind a database transaction still in flight after {StoreVerifierOptions.Default.HeldBackWait.TotalSeconds:0} s, so the store is not verified; run verify again (rows held back for good are stored out of order past the service)");
        Console.WriteLine(ledgerLine);
        Console.WriteLine(GenesisLine(services.GetRequiredService<NetworkGenesisPin>()));
        return report.Verified && ledgerHolds ? ExitCodes.Ok : ExitCodes.Problems;
    }

    private static async Task<Outcome> CheckAsync(IServiceProvider services, StepProgress progress, CancellationToken ct)
    {
        var store = services.GetRequiredService<IEventStore>();
        var serializer = services.GetRequiredService<EventSerializer>();
        var genesis = services.GetRequiredService<NetworkGenesisPin>();

        var keys = progress.Begin("keys and policies");
        // Every transaction is judged by the network as far as it verifies: a forged member or key, and what follows it, counts for nothing.
        var checker = await EndorsementChecker.LoadAsync(store, serializer, genesis, ct);
        // How far behind the ledger heads stored before it an honest transaction can be stamped (from the endorsers' clock skew).
        if (services.GetService<EndorsementOptions>() is { } endorsement)
            checker.BackdateTolerance = endorsement.BackdateTolerance;
        keys.Complete("loaded");

        // Each stream's latest ledgered event, looked for during the pass: a stream whose end was cut off still chains.
        var leaves = progress.Begin("ledgered stream ends");
        var latest = await services.GetRequiredService<LedgerQuery>().LatestLeafPerStreamAsync(ct: ct);
        var tails = new LedgerTails(latest);
        leaves.Complete($"{latest.Count:N0} streams");

        var total = services.GetService<IEventLogStatistics>() is { } statistics ? await statistics.CountEventsAsync(ct) : null;
        var streams = progress.Begin("streams", total);
        var report = tails.AddTo(await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions
        {
            EndorsementChecker = checker,
            Genesis = genesis,
            ProgressInterval = 1000,
            Progress = p => streams.Report(p.Events, total, $"{p.Events:N0} events in {p.Streams:N0} streams, {p.EventsPerSecond:N0}/s"),
            Observe = tails.Observe,
        }, ct));
        streams.Complete(report.Verified
            ? $"{report.Events:N0} events in {report.Streams:N0} streams hold ({report.Elapsed.TotalSeconds:N1} s)"
            : $"{report.BrokenStreamCount:N0} of {report.Streams:N0} streams have problems");

        var ledger = progress.Begin("ledger head");
        var (ledgerHolds, ledgerLine) = await RecordedHeadAsync(store, services.GetRequiredService<LedgerQuery>(), ct) is { } cut
            ? (false, cut)
            : await VerifyLedgerAsync(store, serializer, genesis, ct);
        ledger.Complete(ledgerHolds ? "holds" : "does NOT hold");
        return new Outcome(report, ledgerHolds, ledgerLine);
    }

    /// <summary>Per-stream chains cannot see a whole stream (or a tail) dropped: the latest signed tree head can.</summary>
    private static async Task<(bool Holds, string Line)> VerifyLedgerAsync(IEventStore store, EventSerializer serializer, NetworkGenesisPin genesis, CancellationToken ct)
    {
        if (await store.ReadLastAsync(LedgerStream.StreamId, ct) is not { } last
            || serializer.Deserialize(last.Type, last.Data) is not TreeHeadSigned head)
            return (true, "ledger: no signed tree head yet");
        var check = await new LedgerVerifier(store, genesis).VerifyAsync(head.TreeSize, Convert.FromHexString(head.RootHash), ct);
        return (check.Verified, check switch
        {
            { Verified: true } => $"ledger: the signed tree head of {head.TreeSize:N0} events matches the store",
            { Genesis: not null } => $"ledger NOT verified: the signed head of {head.TreeSize:N0} events covers a network founded otherwise than this node pinned",
            _ => $"ledger NOT verified: the signed head of {head.TreeSize:N0} events has root {check.SignedRoot}, the store gives {check.RecomputedRoot} from {check.LeavesFound:N0} events",
        });
    }

    /// <summary>
    /// The ledger stream's own end, which its chain cannot show cut: the latest tree head the ledger view recorded must still
    /// be served at its version as that event (the view never runs ahead of the store). Null when it is; else the verdict
    /// line. A tail of heads cut off would leave the store's last head older than events rewritten since, and the
    /// recomputation below would then compare nothing signed with them.
    /// </summary>
    private static async Task<string?> RecordedHeadAsync(IEventStore store, LedgerQuery view, CancellationToken ct)
    {
        if (await view.LatestAsync(ct) is not { } recorded || await StoredAfterQuery.ReadHeadAsync(store, recorded, ct) is not null) return null;
        return $"ledger NOT verified: the ledger view recorded the signed tree head of {recorded.TreeSize:N0} events at version {recorded.StreamVersion} of the ledger stream, which the stream no longer serves (cut past the service)";
    }

    /// <summary>What the network's founding was checked against: a pin of this node, one made just now (first sight), or none.</summary>
    private static string GenesisLine(NetworkGenesisPin genesis) => genesis.Hex() switch
    {
        null => "genesis: the store holds no network yet; nothing is pinned",
        var hex when genesis.PinnedOnFirstSight => $"genesis: pinned now, on first sight: {hex} ({genesis.Location})",
        var hex => $"genesis: the network's founding is checked against the pin {hex} ({genesis.Location})",
    };
}
