using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Projections.Ledger;

public sealed class LedgerOptions
{
    /// <summary>Sign a tree head as soon as this many leaves are unsigned.</summary>
    public int SignEvery { get; set; } = 1000;

    /// <summary>Otherwise sign the new leaves when the last head is at least this old.</summary>
    public TimeSpan SignInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often, at most, the signer looks at the tree's size. It looks that often only while the ledger view runs on
    /// another node; where it runs here, the signer waits for the view's next batch (or a head falling due).
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The ledger builder's write side: when the tree (built by <see cref="LedgerProjection"/>) has unsigned leaves — at least
/// <see cref="LedgerOptions.SignEvery"/>, or any once the last head is <see cref="LedgerOptions.SignInterval"/> old — it
/// computes the root of the whole tree and appends a tree head to the <c>ledger</c> stream through the command path, so
/// the head is endorsed by the hospitals like any transaction. Several nodes may run it: the ledger decider refuses a
/// head that does not grow the tree, so a node that lost the race simply skips that round.
/// </summary>
public sealed partial class LedgerSigner(
    LedgerQuery query, LedgerStream commands, IEventStore store, INodeIdentity node,
    IClock clock, LedgerOptions options, Runner.ProjectionMetrics metrics, ILogger<LedgerSigner> log,
    Runner.ProjectionRunner runner, Application.Network.NetworkDirectory network, Application.Commands.StreamLoader loader) : BackgroundService
{

    // The tree's right edge as far as this node has read it: each signing reads only the leaves added since.
    private readonly MerkleFrontier _frontier = new();
    private readonly SemaphoreSlim _signing = new(1, 1);

    /// <summary>Signs the tree if it has new leaves and it is time; the new head's size, or null when nothing was signed.</summary>
    public async Task<long?> SignIfDueAsync(bool force, CancellationToken ct)
    {
        await _signing.WaitAsync(ct);
        try
        {
            return await SignIfDueLockedAsync(force, ct);
        }
        finally
        {
            _signing.Release();
        }
    }

    private async Task<long?> SignIfDueLockedAsync(bool force, CancellationToken ct)
    {
        var size = await query.SizeAsync(ct);
        var last = await LastHeadAsync(ct);
        metrics.LedgerSeen(size, last?.At); // the signer looks every PollInterval anyway: the ledger's gauges cost nothing more
        var signed = last?.TreeSize ?? 0;
        if (size <= signed) return null;
        var due = force || size - signed >= options.SignEvery || last is null || clock.UtcNow - last.At >= options.SignInterval;
        if (!due) return null;
        foreach (var leaf in await query.LeavesAsync(_frontier.Size, size, ct)) _frontier.Append(leaf);
        var root = _frontier.Root();
        try
        {
            var head = await commands.SignAsync(size, root, node.HospitalId, ct);
            if (head.Events is [TreeHeadSigned signedHead]) metrics.LedgerSeen(size, signedHead.At);
            return size;
        }
        catch (RejectedException e) when (e.Rejection.Code == "tree-size-not-growing")
        {
            return null; // another node signed meanwhile
        }
    }

    /// <summary>
    /// The ledger stream's latest head the network endorsed (<see cref="EndorsedTreeHeads"/>), null when there is none:
    /// the stream's last event may be one written past the service — unreadable, or a head no member signed over a tree of
    /// any size, which would otherwise stop this signer for good. The ledger decider's fold skips the same ones.
    /// </summary>
    private async Task<TreeHeadSigned?> LastHeadAsync(CancellationToken ct)
    {
        if (await store.ReadLastAsync(LedgerStream.StreamId, ct) is not { } e) return null;
        var checker = await network.CheckerAsync(Application.Endorsement.Endorser.NetworkViewMaxAge, ct);
        return (await loader.EndorsedHeads.LatestAsync(e.Version, e.Hash, checker, ct))?.Head;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = options.PollInterval;
            var changed = runner.NextChangeAsync(LedgerProjection.ProjectionName); // taken before looking: nothing after the look is missed
            try
            {
                if (await SignIfDueAsync(force: false, stoppingToken) is { } size) SignedHead(log, size);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                wait = TimeSpan.FromMilliseconds(Math.Min(30_000, options.PollInterval.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 10))));
                SigningFailed(log, e.GetType().Name, wait);
            }
            try
            {
                await Task.Delay(wait, stoppingToken);
                // A quiet node does not spin: where the ledger view runs here, its next batch wakes the signer, and a
                // head falls due SignInterval after the last at the latest. Elsewhere nothing here can tell: look again.
                if (failures == 0 && RunsHere() && !changed.IsCompleted)
                    await Task.WhenAny(changed, Task.Delay(options.SignInterval, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool RunsHere() => runner.Status.Any(s => s.Name == LedgerProjection.ProjectionName && s.RunningHere);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "Ledger tree head signed at size {TreeSize}")]
    private static partial void SignedHead(ILogger logger, long treeSize);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Ledger tree head could not be signed ({ExceptionType}); retrying in {Wait}")]
    private static partial void SigningFailed(ILogger logger, string exceptionType, TimeSpan wait);
}
