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

    /// <summary>An endorser refuses a caller credential valid for longer than this (tokens are short-lived).</summary>
    public TimeSpan MaxCredentialLifetime { get; init; } = TimeSpan.FromDays(1);
}

/// <summary>
/// The commit rule (docs/architecture.md, "Endorsement"): send the proposal to the endorsers the policy names, in
/// parallel and with a timeout; count only signatures that verify against the key each member has at
/// the command's time; stop as soon as the policy is met. Not met: nothing is appended and the caller
/// learns which endorsements are missing and why.
/// </summary>
public sealed class EndorsementService(
    NetworkDirectory directory, IEndorserClients clients, INodeIdentity node, EndorsementOptions options, CommandTelemetry telemetry,
    ILogger<EndorsementService> log)
    : IEndorsementService
{
    public async Task<TransactionEndorsement?> EndorseAsync(TransactionProposal proposal, CancellationToken ct = default)
    {
        // Founding is the network stream's first transaction (the append fails on any other version): no member
        // exists to endorse it, and every hospital holds the genesis file. Nothing else is ever unendorsed.
        if (IsFounding(proposal)) return null;

        var network = directory.Current;
        // What every endorser will check against the network, this node checks first: the caller gets a 400, not a 503.
        if (network.CommandProblem(proposal.Command) is { } problem)
            throw RejectedException.Invalid("network-rules", char.ToUpperInvariant(problem[0]) + problem[1..] + ".");
        var policy = EndorsementPolicy.Parse(network.EndorsementPolicy);
        var context = new PolicyContext(network.Hospitals.Keys.ToList(), proposal.HomeHospital);
        var caller = proposal.Context.Actor.Hospital;
        var identity = node.IdentityOf(caller, proposal.At) ?? throw RejectedException.Forbidden("node-does-not-act-for-hospital",
            $"This node does not hold the identity key of {caller}, so it cannot speak for its staff or patients; send the command through that hospital's node.");
        var submitter = node.IdentityOf(node.HospitalId, proposal.At)
                        ?? throw new InvalidOperationException("This node does not hold its own hospital's current identity key.");
        var request = EndorsementRequest.Create(proposal, submitter, identity);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Timeout);
        var round = new Round();
        var pending = policy.Principals(context).Order(StringComparer.Ordinal)
            .Select(h => AskAsync(network, h, request, round, timeout.Token)).ToList();
        var signatures = new SortedDictionary<string, EndorsementSignature>(StringComparer.Ordinal);
        var refusals = new List<string>();
        var stale = false;
        while (pending.Count > 0 && !policy.IsSatisfiedBy(signatures.Keys.ToHashSet(), context))
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            var reply = await done;
            if (reply.Signature is { } signature && Verifies(network, signature, proposal))
                signatures[reply.HospitalId] = signature;
            else
            {
                refusals.Add($"{reply.HospitalId}: {reply.Reason ?? "the signature does not verify"}");
                stale |= reply.Stale;
            }
        }
        round.Decide();
        await timeout.CancelAsync(); // stragglers are not needed once the policy is met

        var endorsers = signatures.Keys.ToHashSet();
        if (!policy.IsSatisfiedBy(endorsers, context))
        {
            if (stale) throw new StaleProposalException(proposal.StreamId);
            log.LogWarning("Endorsement policy not met on {StreamId}: {Refusals}", proposal.StreamId, string.Join("; ", refusals));
            throw new EndorsementPolicyNotMetException([.. refusals, $"policy {policy}: {policy.Explain(endorsers, context)}"]);
        }
        return EndorsementSignatures.BatchOfOne(proposal.Envelopes[0].Version, proposal.Envelopes.Count, proposal.TransactionHash, [.. signatures.Values]);
    }

    private async Task<EndorsementReply> AskAsync(NetworkState network, string hospitalId, EndorsementRequest request, Round round, CancellationToken ct)
    {
        using var span = CommandTelemetry.StartEndorse(hospitalId);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        round.Opened(span);
        var (reply, outcome) = await CallAsync(network, hospitalId, request, round, ct);
        round.Answered(span);
        telemetry.Endorsed(hospitalId, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started), span);
        return reply;
    }

    /// <summary>One endorser's reply, and the outcome the endorsement metric records for it.</summary>
    private async Task<(EndorsementReply, string)> CallAsync(NetworkState network, string hospitalId, EndorsementRequest request, Round round, CancellationToken ct)
    {
        if (!network.Hospitals.TryGetValue(hospitalId, out var hospital))
            return (EndorsementReply.Refused(hospitalId, "not a member of the network"), EndorseOutcome.Refused);
        if (clients.For(hospital) is not { } client)
            return (EndorsementReply.Refused(hospitalId, $"no endorser reachable from this node ({hospital.EndorserEndpoint})"), EndorseOutcome.Unreachable);
        try
        {
            var reply = await client.EndorseAsync(request, ct);
            return (reply, EndorseOutcome.Of(reply));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return (EndorsementReply.Refused(hospitalId, $"no answer within {options.Timeout.TotalSeconds:0.#} s"), round.Decided ? EndorseOutcome.Cancelled : EndorseOutcome.Timeout);
        }
        catch (Exception e)
        {
            return (EndorsementReply.Refused(hospitalId, $"unreachable ({e.GetType().Name})"), EndorseOutcome.Unreachable);
        }
    }

    /// <summary>One endorsement round: decided once the policy is met or every endorser answered (stragglers are then cancelled).</summary>
    private sealed class Round
    {
        private readonly HashSet<System.Diagnostics.Activity> _open = [];
        public volatile bool Decided;

        public void Opened(System.Diagnostics.Activity? span)
        {
            if (span is not null) lock (_open) _open.Add(span);
        }

        public void Answered(System.Diagnostics.Activity? span)
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

    /// <summary>An endorser's signature counts only if it verifies against that member's endorsement key at the command's time.</summary>
    private static bool Verifies(NetworkState network, EndorsementSignature signature, TransactionProposal proposal) =>
        network.KeyAt(signature.HospitalId, KeyUse.Endorsement, proposal.At) is { } key
        && key.KeyId == signature.KeyId
        && EndorsementSignatures.Verify(key.PublicKey, proposal.TransactionHash, signature.Signature);
}
