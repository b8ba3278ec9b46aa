using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Network;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Endorsement;

/// <param name="Timeout">How long the submitter waits for endorsers.</param>
public sealed record EndorsementOptions(TimeSpan Timeout)
{
    public static readonly EndorsementOptions Default = new(TimeSpan.FromSeconds(2));

    /// <summary>An endorser refuses a command whose time is further than this from its own clock (backdating, or a clock gone wrong).</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How much earlier than the latest endorsed ledger tree head stored before it a transaction may be stamped before the
    /// verifiers name it <c>backdated</c> (docs/architecture.md, "Verification", point 5). Default:
    /// <see cref="EndorsementChecker.BackdateToleranceFor"/> of <see cref="MaxClockSkew"/> (2 × skew + 1 min, 5 minutes);
    /// Endorsement:BackdateToleranceSeconds sets it outright (longer where appends can lag behind their endorsement).
    /// </summary>
    public TimeSpan BackdateTolerance
    {
        get => _backdateTolerance ?? EndorsementChecker.BackdateToleranceFor(MaxClockSkew);
        init => _backdateTolerance = value;
    }

    private readonly TimeSpan? _backdateTolerance;

    /// <summary>An endorser refuses a caller credential valid for longer than this (tokens are short-lived).</summary>
    public TimeSpan MaxCredentialLifetime { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How the submitter gathers concurrent proposals into one request per endorser.</summary>
    public EndorsementBatching Batching { get; init; } = EndorsementBatching.Default;
}

/// <summary>
/// The commit rule (docs/architecture.md, "Endorsement"): send the proposal to the endorsers the policy names, in
/// parallel and with a timeout; count only signatures that verify against the key each member has at
/// the command's time; stop as soon as the policy is met. Not met: nothing is appended and the caller
/// learns which endorsements are missing and why.
/// <para>
/// Proposals made at the same time travel together (<see cref="EndorsementBatching"/>): one <see cref="EndorsementBatch"/>
/// per endorser, signed once by this node, and one signature per endorser over the root of what it accepted. Each
/// caller still gets its own outcome: its transaction's endorsement (the root, its leaf index and inclusion path), or its
/// own refusal; the policy is judged per transaction.
/// </para>
/// </summary>
public sealed class EndorsementService : IEndorsementService
{
    private readonly NetworkDirectory _directory;
    private readonly IEndorserClients _clients;
    private readonly INodeIdentity _node;
    private readonly EndorsementOptions _options;
    private readonly CommandTelemetry _telemetry;
    private readonly ILogger<EndorsementService> _log;
    private readonly EndorsementBatcher<Pending> _batcher;

    public EndorsementService(
        NetworkDirectory directory, IEndorserClients clients, INodeIdentity node, EndorsementOptions options, CommandTelemetry telemetry,
        ILogger<EndorsementService> log)
    {
        (_directory, _clients, _node, _options, _telemetry, _log) = (directory, clients, node, options, telemetry, log);
        _batcher = new(options.Batching, RoundAsync, p => p.Proposal.StreamId, p => p.Group);
    }

    public async Task<TransactionEndorsement?> EndorseAsync(TransactionProposal proposal, CancellationToken ct = default)
    {
        // Founding is the network stream's first transaction (the append fails on any other version): no member
        // exists to endorse it, and every hospital holds the genesis file. Nothing else is ever unendorsed.
        if (IsFounding(proposal)) return null;
        var pending = Prepare(proposal);
        _batcher.Add([pending]);
        return await pending.Outcome.Task.WaitAsync(ct);
    }

    /// <summary>
    /// The chain travels as one unit of one batch, in order: each proposal after the first expects its stream where the
    /// one before it ends, which is how every endorser knows to re-execute it on the state its own re-execution of the
    /// predecessor left (<see cref="Endorser"/>; the wire format is unchanged). A proposal this node refuses before asking anyone (or the founding, which
    /// nothing endorses, or the batch size) ends the chain: the ones after it were decided on it and fail with
    /// <see cref="ChainBrokenException"/>.
    /// </summary>
    public IReadOnlyList<Task<TransactionEndorsement?>> EndorseChain(IReadOnlyList<TransactionProposal> chain, CancellationToken ct = default)
    {
        var outcomes = new List<Task<TransactionEndorsement?>>(chain.Count);
        var unit = new List<Pending>(chain.Count);
        var broken = false;
        foreach (var proposal in chain)
        {
            // A unit is one batch: a chain longer than a batch ends where the batch does, its rest goes in the next round.
            if (broken || unit.Count == _options.Batching.MaxSize)
            {
                outcomes.Add(Task.FromException<TransactionEndorsement?>(new ChainBrokenException(proposal.StreamId)));
                continue;
            }
            try
            {
                if (IsFounding(proposal))
                {
                    outcomes.Add(Task.FromResult<TransactionEndorsement?>(null));
                    broken = true; // what follows the founding is endorsed once it is stored
                    continue;
                }
                var pending = Prepare(proposal);
                unit.Add(pending);
                outcomes.Add(pending.Outcome.Task.WaitAsync(ct));
            }
            catch (Exception e)
            {
                outcomes.Add(Task.FromException<TransactionEndorsement?>(e));
                broken = true;
            }
        }
        if (unit.Count > 0) _batcher.Add(unit);
        return outcomes;
    }

    /// <summary>
    /// What every endorser will check against the network, checked here first (so the caller gets a 400, not a 503), and
    /// the proposal's unsigned request.
    /// </summary>
    private Pending Prepare(TransactionProposal proposal)
    {
        var network = _directory.Current;
        if (network.CommandProblem(proposal.Command) is { } problem)
            throw RejectedException.Invalid("network-rules", char.ToUpperInvariant(problem[0]) + problem[1..] + ".");
        var caller = proposal.Context.Actor.Hospital;
        var identity = _node.IdentityOf(caller, proposal.At) ?? throw RejectedException.Forbidden("node-does-not-act-for-hospital",
            $"This node does not hold the identity key of {caller}, so it cannot speak for its staff or patients; send the command through that hospital's node.");
        var submitter = _node.IdentityOf(_node.HospitalId, proposal.At)
                        ?? throw new InvalidOperationException("This node does not hold its own hospital's current identity key.");
        var request = EndorsementRequest.Unsigned(proposal, submitter.HospitalId);

        // One signature per endorser covers a batch only if the batch shares each member's key: batch by the keys of its time.
        var group = string.Join(',', [submitter.KeyId, .. network.Hospitals.Keys.Order(StringComparer.Ordinal)
            .Select(h => network.KeyAt(h, KeyUse.Endorsement, proposal.At)?.KeyId)]);
        return new Pending(proposal, request, identity, submitter, group);
    }

    /// <summary>A proposal waiting for its batch's round, and what its caller awaits.</summary>
    private sealed record Pending(TransactionProposal Proposal, EndorsementRequest Request, IHospitalSigner Identity, IHospitalSigner Submitter, string Group)
    {
        /// <summary>The caller's span: a round's endorser calls are children of its first proposal's command.</summary>
        public Activity? Parent { get; } = Activity.Current;

        public TaskCompletionSource<TransactionEndorsement?> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One round: the batch to the endorsers, each transaction completed as soon as its policy is met (or cannot be).</summary>
    private async Task RoundAsync(IReadOnlyList<Pending> batch)
    {
        try
        {
            Activity.Current = batch[0].Parent;
            _telemetry.EndorsementRound(batch.Count);
            var network = _directory.Current;
            var proposals = batch.Select(p => p.Proposal).ToList();
            var request = EndorsementBatch.Create(proposals, batch.Select(p => p.Request).ToList(), batch[0].Submitter,
                batch.Select(p => p.Identity).ToList());
            var tally = new BatchTally(network, proposals);

            using var timeout = new CancellationTokenSource(_options.Timeout);
            var round = new Round();
            var pending = tally.Principals.Select(h => AskAsync(network, h, request, round, timeout.Token)).ToList();
            while (pending.Count > 0 && !tally.AllDecided)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                var (hospital, reply) = await done;
                tally.Add(hospital, reply);
                foreach (var (i, endorsement) in tally.TakeEndorsed()) batch[i].Outcome.TrySetResult(endorsement);
            }
            round.Decide();
            await timeout.CancelAsync(); // stragglers are not needed once every transaction's policy is met

            for (var i = 0; i < batch.Count; i++)
                if (!batch[i].Outcome.Task.IsCompleted) batch[i].Outcome.TrySetException(NotEndorsed(tally, i, batch[i].Proposal.StreamId));
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Outcome.TrySetException(e);
        }
    }

    private Exception NotEndorsed(BatchTally tally, int i, string streamId)
    {
        var (stale, refusals, explanation) = tally.WhyNot(i);
        if (stale) return new StaleProposalException(streamId);
        _log.LogWarning("Endorsement policy not met on {StreamId}: {Refusals}", streamId, string.Join("; ", refusals));
        return new EndorsementPolicyNotMetException([.. refusals, explanation]);
    }

    private async Task<(string Hospital, EndorsementBatchReply Reply)> AskAsync(
        NetworkState network, string hospitalId, EndorsementBatch request, Round round, CancellationToken ct)
    {
        using var span = CommandTelemetry.StartEndorse(hospitalId, request.Transactions.Count);
        var started = Stopwatch.GetTimestamp();
        round.Opened(span);
        var (reply, outcome) = await CallAsync(network, hospitalId, request, round, ct);
        round.Answered(span);
        _telemetry.Endorsed(hospitalId, outcome, Stopwatch.GetElapsedTime(started), span);
        return (hospitalId, reply);
    }

    /// <summary>One endorser's reply, and the outcome the endorsement metric records for it.</summary>
    private async Task<(EndorsementBatchReply, string)> CallAsync(
        NetworkState network, string hospitalId, EndorsementBatch request, Round round, CancellationToken ct)
    {
        var count = request.Transactions.Count;
        if (!network.Hospitals.TryGetValue(hospitalId, out var hospital))
            return (EndorsementBatchReply.RefusedAll(hospitalId, count, "not a member of the network"), EndorseOutcome.Refused);
        if (_clients.For(hospital) is not { } client)
            return (EndorsementBatchReply.RefusedAll(hospitalId, count, $"no endorser reachable from this node ({hospital.EndorserEndpoint})"), EndorseOutcome.Unreachable);
        try
        {
            var reply = await client.EndorseAsync(request, ct);
            return (reply, EndorseOutcome.Of(reply));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return (EndorsementBatchReply.RefusedAll(hospitalId, count, $"no answer within {_options.Timeout.TotalSeconds:0.#} s"),
                round.Decided ? EndorseOutcome.Cancelled : EndorseOutcome.Timeout);
        }
        catch (Exception e)
        {
            return (EndorsementBatchReply.RefusedAll(hospitalId, count, $"unreachable ({e.GetType().Name})"), EndorseOutcome.Unreachable);
        }
    }

    /// <summary>One endorsement round: decided once every transaction's policy is met or every endorser answered (stragglers are then cancelled).</summary>
    private sealed class Round
    {
        private readonly HashSet<Activity> _open = [];
        public volatile bool Decided;

        public void Opened(Activity? span)
        {
            if (span is not null) lock (_open) _open.Add(span);
        }

        public void Answered(Activity? span)
        {
            if (span is not null) lock (_open) _open.Remove(span);
        }

        /// <summary>
        /// Marks the calls still open as cancelled before they are: what fails in them from now on (an HTTP call, a
        /// statement cut short) is the cancellation, not an error, and the redaction exports it so (README, "Observability").
        /// </summary>
        public void Decide()
        {
            Decided = true;
            lock (_open)
                foreach (var span in _open) CommandTelemetry.Cancelling(span);
        }
    }

    public static bool IsFounding(TransactionProposal proposal) =>
        proposal is { StreamId: NetworkStream.StreamId, Command: FoundNetwork, Expected.IsNoStream: true };
}
