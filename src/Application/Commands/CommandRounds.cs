using HealthEvents.Application.Ports;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

// A busy stream's commands as rounds (issue 13, point 3): whoever gets the stream's turn takes the commands queued for
// it and decides, endorses and appends them together, so 64 writers on one patient cost a few rounds, not 64 turns.
public sealed partial class CommandExecutor
{
    /// <summary>
    /// The most commands one round takes (the default endorsement batch size, so a round is one batch); the rest wait for
    /// the next round.
    /// </summary>
    public const int MaxPerRound = 64;

    /// <summary>A command queued for its stream's turn, and what its caller awaits.</summary>
    private sealed class Queued<TCommand, TEvent>(TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct)
    {
        public TCommand Command => command;
        public DateTimeOffset At => at;
        public CommandContext Context => context;
        public CancellationToken Ct => ct;

        /// <summary>Rounds this command lost to another node's writes (or its endorsers' view of them).</summary>
        public int Attempts { get; set; } = 1;

        public TaskCompletionSource<CommandResult<TEvent>> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task<CommandResult<TEvent>> ExecuteAttemptsAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
        where TCommand : notnull
    {
        var mine = new Queued<TCommand, TEvent>(command, at, context, ct);
        if (StreamGates.IsHeldHere(streamId))
        {
            // Re-entered for the same stream from inside its own turn: waiting would be waiting for itself. A round of its own.
            await RoundAsync<TDecider, TState, TCommand, TEvent>(streamId, [mine]);
            return await mine.Outcome.Task;
        }
        using (var turn = await gates.EnterAsync(streamId, mine, ct))
        {
            // Still queued: this command and those queued after it, as one round. Taken by an earlier round: done already.
            // Network changes go one at a time: endorsers judge the network's rules on the stored network, never chained.
            var round = turn.Take(mine, streamId == Network.NetworkStream.StreamId ? 1 : MaxPerRound);
            if (round.Count > 0)
            {
                StreamGates.MarkHeldHere(streamId);
                await RoundAsync<TDecider, TState, TCommand, TEvent>(streamId, round);
            }
        }
        return await mine.Outcome.Task.WaitAsync(ct);
    }

    /// <summary>Runs a round until every command in it is answered; never throws (each command's outcome carries its own failure).</summary>
    private async Task RoundAsync<TDecider, TState, TCommand, TEvent>(string streamId, List<Queued<TCommand, TEvent>> round)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
        where TCommand : notnull
    {
        while (round.Count > 0)
        {
            try
            {
                var (again, lost) = await PassAsync<TDecider, TState, TCommand, TEvent>(streamId, round);
                // Lost to another node: a jittered, growing back-off spreads the contenders out instead of colliding again.
                if (lost > 0) await Task.Delay(Random.Shared.Next(0, Math.Min(50, 1 << lost)));
                round = again;
            }
            catch (Exception e)
            {
                foreach (var q in round) q.Outcome.TrySetException(e);
                return;
            }
        }
    }

    /// <summary>
    /// One pass over a round: decides each command on the state the one before it leaves (a refused one answers its own
    /// problem and changes nothing for the rest), has them endorsed as one chain, appends the endorsed ones in one store
    /// call, and answers each landed command with its own receipt.
    /// </summary>
    /// <returns>The commands to decide again, in their order, and the most rounds any of them has lost to another node (0: none lost).</returns>
    private async Task<(List<Queued<TCommand, TEvent>> Again, int Lost)> PassAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, List<Queued<TCommand, TEvent>> round)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
        where TCommand : notnull
    {
        var decided = new List<(Queued<TCommand, TEvent> Command, Decision<TState, TEvent> Decision)>(round.Count);
        // Deciding nothing after commands not yet appended: answered once those land (their version is the receipt's).
        var unchanged = new List<(Queued<TCommand, TEvent> Command, Decision<TState, TEvent> Decision, int After)>();
        StreamSnapshot<TState>? state = null; // the first loads the stream; each next one decides on the state the one before leaves
        foreach (var q in round)
        {
            if (q.Ct.IsCancellationRequested)
            {
                q.Outcome.TrySetCanceled(q.Ct);
                continue;
            }
            try
            {
                var d = await decider.DecideAsync<TDecider, TState, TCommand, TEvent>(streamId, q.Command, q.At, q.Context, CancellationToken.None, onTopOf: state);
                if (d.Events.Count == 0)
                {
                    if (decided.Count == 0) q.Outcome.TrySetResult(Unchanged(d));
                    else unchanged.Add((q, d, decided.Count - 1));
                    continue;
                }
                if (q.Context.EarlierAttempt && await IsStoredAsync(streamId, d.Proposed[0].EventId, d.LastVersion, CancellationToken.None))
                    throw AlreadyApplied();
                decided.Add((q, d));
                state = d.Next;
            }
            catch (Exception e)
            {
                q.Outcome.TrySetException(e);
            }
        }
        if (decided.Count == 0) return ([], 0);

        // Keyed by place in the round, so what is decided again keeps its order.
        var again = new SortedDictionary<int, Queued<TCommand, TEvent>>();
        var place = round.Select((q, i) => (q, i)).ToDictionary(x => x.q, x => x.i); // by reference: Queued has no equality of its own
        var lost = 0;
        void Again(int i, bool lostToAnotherNode, Exception why)
        {
            var q = decided[i].Command;
            if (!lostToAnotherNode) again[place[q]] = q;
            else if (q.Attempts >= MaxAttempts) q.Outcome.TrySetException(new ConcurrencyConflictException(streamId, MaxAttempts, why));
            else
            {
                log.LogDebug("Concurrent write on {StreamId}, deciding again (attempt {Attempt})", streamId, q.Attempts);
                lost = Math.Max(lost, q.Attempts++);
                again[place[q]] = q;
            }
        }

        var proposals = decided.Select(x => new TransactionProposal(streamId, ExpectedVersion.After(x.Decision.LastVersion), x.Decision.LastHash,
            x.Command.Command, x.Command.Context, x.Command.At, x.Decision.Envelopes, x.Decision.HomeHospital)).ToList();
        var refused = new List<(int Index, Exception Why)>();
        var endorsed = await EndorseChainAsync(streamId, proposals, Again, (i, e) => refused.Add((i, e)));
        // Endorsers that read the stream shorter than this node decided on it refuse the proposal as stale: the stream was
        // cut past the service below this node's cached state (CutBelow). Any other refusal is the command's answer.
        if (refused.Count > 0 && await StoredEndAsync(streamId) is var end && end < decided[refused[0].Index].Decision.LastVersion)
        {
            var cut = CutBelow(streamId, end, decided[refused[0].Index].Decision.LastVersion);
            foreach (var (i, why) in refused)
                if (cut is null) Again(i, true, why);
                else decided[i].Command.Outcome.TrySetException(cut);
        }
        else foreach (var (i, why) in refused) decided[i].Command.Outcome.TrySetException(why);
        var landed = await AppendEndorsedAsync(streamId, decided, proposals, endorsed, Again);
        foreach (var (q, d, after) in unchanged)
            if (after < landed) q.Outcome.TrySetResult(Unchanged(d));
            else again[place[q]] = q;
        return ([.. again.Values], lost);
    }

    private static CommandResult<TEvent> Unchanged<TState, TEvent>(Decision<TState, TEvent> d) =>
        new(new Receipt([], d.LastVersion, Convert.ToHexStringLower(d.LastHash), []), d.Events);

    /// <summary>Appends the endorsed prefix of the chain in one store call and answers what landed; how many landed.</summary>
    private async Task<int> AppendEndorsedAsync<TState, TCommand, TEvent>(
        string streamId, List<(Queued<TCommand, TEvent> Command, Decision<TState, TEvent> Decision)> decided,
        List<TransactionProposal> proposals, List<TransactionEndorsement?> endorsed, Action<int, bool, Exception> again)
    {
        if (endorsed.Count == 0) return 0;

        var chain = endorsed.Select((e, i) => new ChainedAppend(proposals[i].Expected, decided[i].Decision.Proposed, e)).ToList();
        ChainAppendResult appended;
        try
        {
            appended = await AppendChainAsync(streamId, chain);
        }
        catch (Exception e)
        {
            for (var i = 0; i < chain.Count; i++) decided[i].Command.Outcome.TrySetException(e);
            return 0;
        }

        for (var i = 0; i < appended.Appended.Count; i++)
        {
            var (result, d) = (appended.Appended[i], decided[i].Decision);
            var endorsers = endorsed[i]?.Signatures.Select(s => s.HospitalId).ToList() ?? [];
            decided[i].Command.Outcome.TrySetResult(new(new Receipt(result.Events.Select(e => e.EventId).ToList(), result.LastVersion,
                Convert.ToHexStringLower(result.TransactionHash), endorsers), d.Events));
        }
        if (appended.Appended is [.., var last])
            // Decided on a state this node loaded, so proven as it was (StreamLoader), and extended by its own events.
            cache.Put(streamId, new StreamSnapshot<TState>(decided[appended.Appended.Count - 1].Decision.After, last.LastVersion, last.TransactionHash) { Anchored = true });

        if (appended.Stopped is { } stopped)
        {
            var k = appended.Appended.Count;
            for (var i = k; i < chain.Count; i++)
            {
                if (stopped is not WrongExpectedVersionException conflict) decided[i].Command.Outcome.TrySetException(stopped);
                // The stream did not move, so what conflicts is an event id: this command id was applied before.
                else if (i == k && conflict.ActualLastVersion == decided[i].Decision.LastVersion) decided[i].Command.Outcome.TrySetException(AlreadyApplied());
                // The stream ends before what this node decided on: cut past the service (CutBelow).
                else if (i == k && conflict.ActualLastVersion < decided[i].Decision.LastVersion
                    && CutBelow(streamId, conflict.ActualLastVersion, decided[i].Decision.LastVersion) is { } cut)
                    decided[i].Command.Outcome.TrySetException(cut);
                else again(i, i == k, conflict);
            }
        }
        return appended.Appended.Count;
    }

    /// <summary>
    /// The chain's endorsements, in order, up to the first proposal that was not endorsed. That one is decided again when
    /// it lost to another node's write (stale) or when only its place in the chain kept it out (its predecessor was not
    /// endorsed; or endorsers refused it behind others, which a pass with it first answers on its own); else it is
    /// answered with its refusal. Every proposal after it is decided again.
    /// </summary>
    private async Task<List<TransactionEndorsement?>> EndorseChainAsync(
        string streamId, List<TransactionProposal> proposals,
        Action<int, bool, Exception> again, Action<int, Exception> refuse)
    {
        var outcomes = endorsement.EndorseChain(proposals, CancellationToken.None);
        var endorsed = new List<TransactionEndorsement?>(proposals.Count);
        for (var i = 0; i < outcomes.Count; i++)
        {
            try
            {
                endorsed.Add(await outcomes[i]);
                continue;
            }
            catch (StaleProposalException e)
            {
                again(i, true, e);
            }
            catch (Exception e) when (e is ChainBrokenException || (e is EndorsementPolicyNotMetException && i > 0))
            {
                again(i, false, e);
            }
            catch (Exception e)
            {
                refuse(i, e);
            }
            for (var j = i + 1; j < outcomes.Count; j++)
            {
                _ = outcomes[j].ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted); // observed: it is decided again
                again(j, false, new ChainBrokenException(streamId));
            }
            break;
        }
        return endorsed;
    }

    /// <summary>The last version the stream serves now (-1: none): one read.</summary>
    private async Task<long> StoredEndAsync(string streamId) =>
        (await store.ReadLastAsync(streamId, CancellationToken.None))?.Version ?? -1;

    /// <summary>
    /// A stream found ending at <paramref name="last"/>, below the version <paramref name="decidedOn"/> this node decided
    /// on: cut past the service (append-only streams never shrink otherwise). What this node folded is the history, so it
    /// keeps it and the command is refused as on a damaged stream (returned) — deciding again on the shorter stream would
    /// forget what the cut removed (a revocation). Only the ledger stream is signed on: its events are the tree heads, and
    /// losing a head's record loses no leaf, so its cache is dropped and the head decided again (null).
    /// </summary>
    private DamagedStreamException? CutBelow(string streamId, long last, long decidedOn)
    {
        log.LogWarning("Stream {StreamId} ends at version {Last}, below version {DecidedOn} this node decided on: cut past the service",
            streamId, last, decidedOn);
        if (streamId != Ledger.LedgerStream.StreamId) return StreamLoader.CutBelowCache(streamId, last, decidedOn);
        cache.Evict(streamId);
        return null;
    }

    /// <summary>The chain in one store call, inside an "append" span whose outcome says whether it all landed.</summary>
    private async Task<ChainAppendResult> AppendChainAsync(string streamId, List<ChainedAppend> chain)
    {
        using var span = HealthEventsTelemetry.Source.StartActivity("append");
        span?.SetTag(HealthEventsTelemetry.Tags.StreamKind, HealthEventsTelemetry.StreamKind(streamId));
        span?.SetTag(HealthEventsTelemetry.Tags.Events, chain.Sum(t => t.Events.Count));
        var appended = await store.AppendChainAsync(streamId, chain, CancellationToken.None);
        if (appended.Stopped is WrongExpectedVersionException)
        {
            // Another command wrote first: what did not land wrote nothing (it is decided again, or answers 409).
            span?.SetTag(HealthEventsTelemetry.Tags.Outcome, AppendOutcome.Conflict);
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "concurrency conflict");
        }
        else if (appended.Stopped is null) span?.SetTag(HealthEventsTelemetry.Tags.Outcome, AppendOutcome.Appended);
        return appended;
    }
}
