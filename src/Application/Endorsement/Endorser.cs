using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// One hospital's endorser. It trusts nothing in the proposal but the command and the signatures it can check
/// itself: it authenticates the submitting member; checks who is acting from the caller's own credential (signed by
/// the caller's hospital, bound to this command), that the actor is registered with that role, and that the
/// command's time is its own clock's; loads the stream itself at the proposal's expected version, re-runs the
/// decision and signs the transaction hash only when it gets byte-identical envelopes at the same place in the chain.
/// </summary>
public sealed class Endorser(
    StreamDeciders deciders, NetworkDirectory directory, IClock clock, EndorsementOptions options, LedgerWitness ledger, PatientDirectory patients)
{
    /// <summary>How old this endorser's view of the network may be when it judges a proposal (a deregistration takes effect within it).</summary>
    public static readonly TimeSpan NetworkViewMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An endorser with state of its own — its own stream cache and its own view of the network, read from the
    /// store — as a separate node would have: what in-process endorsers are, so that each re-executes independently
    /// of the submitter and of each other even on one machine.
    /// </summary>
    /// <param name="genesis">The founding this node pinned: the endorser's own reading of the network must start with it.</param>
    /// <param name="ledger">What this node's ledger took in: a stream cut below it is refused (<see cref="LedgeredTail"/>).</param>
    public static Endorser Independent(
        IEventStore store, EventSerializer serializer, IClock clock, EndorsementOptions options, NetworkGenesisPin? genesis, ILedgeredHistory? ledger = null)
    {
        // Its own view of the network, which its re-execution of network commands folds too (only what verifies).
        var directory = new NetworkDirectory(store, serializer, genesis: genesis);
        var cache = new StreamStateCache(capacity: 10_000);
        var loader = new StreamLoader(store, serializer, cache, directory, ledger, endorsement: options);
        return new Endorser(new StreamDeciders(new CommandDecider(loader, serializer)), directory, clock, options,
            new LedgerWitness(store), new PatientDirectory(loader, cache, store, serializer, directory, ledger));
    }

    /// <summary>A lone request: judged as a batch of one, whose signed root is the transaction hash itself.</summary>
    /// <param name="keys">This hospital's endorsement keys: it signs with the one the network records as valid at the command's time.</param>
    /// <returns>The signature, or the reason for refusing; never an exception for what a peer sent.</returns>
    public async Task<EndorsementReply> EndorseAsync(EndorsementRequest request, IHospitalKeys keys, CancellationToken ct) =>
        (await EndorseAsync(EndorsementBatch.Of(request), keys, ct)).Single();

    /// <summary>
    /// Judges every transaction of the batch on its own, exactly as a lone one (a refused one does not sink the others),
    /// and signs the RFC 9162 root of the accepted transactions' hashes, in batch order, once. The submitter's signature
    /// over the whole batch and a caller hospital's over its assertions are verified once each.
    /// <para>
    /// A chain (a busy stream's round): a transaction that expects its stream where the previous transaction of the same
    /// stream in the batch ends follows it (<see cref="Predecessors"/>). It is judged after it, and re-executed on the
    /// state this endorser's own re-execution of that predecessor left — never on what the submitter says it was — and
    /// only if this endorser accepted the predecessor: a transaction whose predecessor it refused is refused too.
    /// </para>
    /// </summary>
    /// <returns>A verdict per transaction, in the batch's order, and the one signature; never an exception for what a peer sent.</returns>
    public async Task<EndorsementBatchReply> EndorseAsync(EndorsementBatch batch, IHospitalKeys keys, CancellationToken ct)
    {
        var hospital = keys.HospitalId;
        if (batch?.Transactions is not { Count: > 0 and <= EndorsementBatch.MaxSize } transactions
            || transactions.Any(t => t?.TransactionHash is not { Length: HashChain.HashSize }))
            return EndorsementBatchReply.RefusedAll(hospital, batch?.Transactions?.Count ?? 0,
                $"the batch is empty, larger than {EndorsementBatch.MaxSize} or holds an incomplete proposal");
        var hashes = transactions.Select(t => t.TransactionHash).ToList();
        var submitter = new SubmitterProof(batch.Submitter, EndorsementSignatures.BatchRoot(hashes), batch.SubmitterSignature, new VerifiedSignatures());
        // A refusal on the network's word is checked once more against the store as it is now: once per batch, however
        // many of its transactions are refused (a batch of refusals must not cost a reading of the network each).
        var recheck = new Lazy<Task<NetworkState>>(() => directory.RefreshAsync(ct));
        var commands = transactions.Select(Decoded).ToList();
        // Every tree head of the batch is witnessed in one reading of the global log, once the first is admitted (a batch
        // of heads must not cost a reading of the log each); each is still compared with the root this endorser computes.
        var heads = commands.OfType<SignTreeHead>().Select(h => h.TreeSize).ToList();
        var reading = new Lazy<Task<LedgerReading>>(() => ledger.ReadAsync(heads, ct));
        InBatch At(int i) => new(transactions[i], commands[i], submitter, recheck, reading);
        var predecessors = Predecessors(transactions);
        var barred = Barred(transactions, predecessors);
        var judged = new Judgement[transactions.Count];
        // Chains side by side; within a chain, one transaction after the other.
        await Task.WhenAll(Enumerable.Range(0, transactions.Count).Where(i => predecessors[i] < 0).Select(async first =>
        {
            for (var i = first; i >= 0; i = Array.IndexOf(predecessors, i))
                judged[i] = barred[i] ?? (predecessors[i] < 0 ? await JudgeSafelyAsync(At(i), null, keys, ct)
                    : judged[predecessors[i]] is { Signer: not null, Mine: { } before } ? await JudgeSafelyAsync(At(i), before, keys, ct)
                    : PredecessorRefused);
        }));

        // One signature covers every accepted transaction, so they must share the endorsement key of their times.
        var signer = judged.FirstOrDefault(j => j.Signer is not null)?.Signer;
        var verdicts = judged.Select(j => j.Signer is null ? j.Verdict
            : j.Signer.KeyId == signer!.KeyId ? EndorsementVerdict.Yes
            : new EndorsementVerdict(false, "this endorser's key changes within the batch; propose it again", Stale: true)).ToList();
        for (var i = 0; i < verdicts.Count; i++)
            if (predecessors[i] >= 0 && !verdicts[predecessors[i]].Accepted && verdicts[i].Accepted) verdicts[i] = PredecessorRefused.Verdict;
        if (signer is null) return new(hospital, null, verdicts);
        var accepted = hashes.Where((_, i) => verdicts[i].Accepted).ToList();
        return new(hospital, new EndorsementSignature(hospital, signer.KeyId, signer.Sign(EndorsementSignatures.BatchRoot(accepted))), verdicts);
    }

    /// <summary>
    /// For each transaction, the index of the one it follows in the batch, or -1: the previous transaction of the same
    /// stream, when this one expects the stream where that one ends (its expected version plus its event count).
    /// </summary>
    public static int[] Predecessors(IReadOnlyList<EndorsementRequest> transactions)
    {
        var previous = new Dictionary<string, int>(StringComparer.Ordinal);
        var predecessors = new int[transactions.Count];
        for (var i = 0; i < transactions.Count; i++)
        {
            var t = transactions[i];
            predecessors[i] = t.StreamId is not null && previous.TryGetValue(t.StreamId, out var j) && transactions[j].Events is { } before
                              && t.ExpectedVersion == transactions[j].ExpectedVersion + before.Count ? j : -1;
            if (t.StreamId is not null) previous[t.StreamId] = i;
        }
        return predecessors;
    }

    /// <summary>
    /// Transactions refused before they are judged, by place in the batch (null: judge it):
    /// <list type="bullet">
    /// <item>a transaction of a stream already in the batch that does not follow it: two histories of one stream at one
    /// place (a fork), or a chain out of order; one signed root must never cover both;</item>
    /// <item>a network change chained after another: the network's rules (no key named by two hospitals, one open
    /// admission per hospital) are checked against the stored network, which does not hold the predecessor yet, so a
    /// chained change could pass a rule it breaks alone. Network changes are judged one at a time, on the stored network.</item>
    /// </list>
    /// Both are stale: an honest submitter proposes the transaction again in a later batch.
    /// </summary>
    private static Judgement?[] Barred(IReadOnlyList<EndorsementRequest> transactions, int[] predecessors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var barred = new Judgement?[transactions.Count];
        for (var i = 0; i < transactions.Count; i++)
        {
            if (transactions[i].StreamId is not { } stream) continue;
            if (predecessors[i] < 0 && !seen.Add(stream))
                barred[i] = new(new(false, $"another transaction of stream {stream} in this batch holds this place or comes before it (a fork); propose it alone", Stale: true), null);
            else if (predecessors[i] >= 0 && stream == NetworkStream.StreamId)
                barred[i] = new(new(false, "a network change is judged alone, on the stored network, never chained after another; propose it again", Stale: true), null);
        }
        return barred;
    }

    /// <summary>A transaction's verdict, the key to sign it with if accepted, and this endorser's own re-execution of it (what a follower is decided on).</summary>
    private sealed record Judgement(EndorsementVerdict Verdict, IHospitalSigner? Signer, Reexecution? Mine = null);

    private static readonly Judgement PredecessorRefused = new(new(false, "the transaction it follows in the batch is refused (chained)"), null);

    /// <summary>The submitter's one signature over the batch (<see cref="Root"/>), checked once per key for all its transactions.</summary>
    private sealed record SubmitterProof(string Submitter, byte[] Root, byte[] Signature, VerifiedSignatures Verified);

    /// <summary>
    /// One transaction of a batch, its command as read (null: unreadable), and what the batch's transactions share: the
    /// submitter's proof, the network read again at most once, the global log read at most once for all its tree heads.
    /// </summary>
    private sealed record InBatch(
        EndorsementRequest Request, object? Command, SubmitterProof Submitter, Lazy<Task<NetworkState>> Recheck, Lazy<Task<LedgerReading>> Ledger);

    /// <summary>The proposal's command, or null when it does not read as the domain command it names.</summary>
    private static object? Decoded(EndorsementRequest request)
    {
        if (request.CommandType is null) return null;
        try
        {
            return CommandCodec.Decode(request.CommandType, request.Command);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    private async Task<Judgement> JudgeSafelyAsync(InBatch transaction, Reexecution? predecessor, IHospitalKeys keys, CancellationToken ct)
    {
        try
        {
            return await JudgeAsync(transaction, predecessor, keys, ct);
        }
        catch (GenesisMismatchException)
        {
            // Its own reading of the network starts with another founding: every key and rule it would judge by is suspect.
            return new(new(false, "the store's network does not start with the founding this endorser pinned (genesis-mismatch)"), null);
        }
        catch (DamagedStreamException e)
        {
            // Its own reading of the stream holds an event it cannot decide on (on the network: one that fails verification).
            return new(new(false, $"stream {e.StreamId} is damaged at version {e.Version} (damaged-stream)"), null);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidCastException or FormatException or ArgumentException
                                      or InvalidOperationException or JsonException or KeyNotFoundException or IndexOutOfRangeException)
        {
            // A broken or hostile peer's proposal (a null where the command needs a value, a field of another command)
            // is refused like any other; it never fails the endorser. The type alone: messages may quote the data.
            return new(new(false, $"the proposal is malformed ({e.GetType().Name})"), null);
        }
    }

    private static Judgement Refused(string reason, bool stale = false) => new(new(false, reason, stale), null);

    /// <param name="predecessor">This endorser's own re-execution of the transaction this one follows in the batch (null: none; the stream is loaded).</param>
    /// <returns>Accepted: the key to sign with and the re-execution; else why not.</returns>
    private async Task<Judgement> JudgeAsync(InBatch transaction, Reexecution? predecessor, IHospitalKeys keys, CancellationToken ct)
    {
        var (request, decoded, submitter, recheck, _) = transaction;
        if (request.Actor is null || request.StreamId is null || request.TransactionHash is null || request.Events is null
            || request.PrevHash is null || request.CommandType is null)
            return Refused("the proposal is incomplete");
        if (decoded is not { } command) return Refused("the command could not be read");
        var network = await directory.FreshAsync(NetworkViewMaxAge, ct);
        var refusal = Authenticate(request, submitter, network) ?? Admit(request, command, network, submitter.Verified);
        // What the network just learnt (a new member, a practitioner registered a moment ago) may not be in this
        // view yet: a refusal on the network's word is checked once more against the store as it is now.
        if (refusal is not null) network = await recheck.Value;
        if (refusal is not null && (Authenticate(request, submitter, network) ?? Admit(request, command, network, submitter.Verified)) is { } still)
            return Refused(still);
        // A ledger head is co-signed only for the root this endorser computes from the global log itself.
        if (command is SignTreeHead head && (await transaction.Ledger.Value).Problem(head.TreeSize, head.RootHash) is { } unwitnessed)
            return Refused(unwitnessed);
        // A research use is recorded only as the patients' own streams allow it.
        if (command is PublishResearchResults publish && await ResearchUses.ProblemAsync(publish, network, patients, ct) is { } unconsented)
            return Refused(unconsented);

        Reexecution mine;
        try
        {
            var context = new CommandContext(request.Actor, request.CommandId, request.CorrelationId);
            mine = await deciders.DecideAsync(request.StreamId, command, request.At, context, request.ExpectedVersion, ct, predecessor);
        }
        catch (RejectedException e)
        {
            return Refused($"re-execution rejects the command ({e.Rejection.Code})");
        }
        catch (ArgumentException)
        {
            return Refused("the command does not belong to the stream");
        }

        if (mine.LastVersion != request.ExpectedVersion)
            return Refused($"stale proposal: the stream is at version {mine.LastVersion}, the proposal expects {request.ExpectedVersion}",
                stale: mine.LastVersion > request.ExpectedVersion);
        if (!mine.LastHash.AsSpan().SequenceEqual(request.PrevHash))
            return Refused("the proposal's prevHash is not the stream's last hash");
        if (Difference(mine.Envelopes, request.Events) is { } difference)
            return Refused(difference);
        if (!mine.Envelopes[^1].Hash.AsSpan().SequenceEqual(request.TransactionHash))
            return Refused("the transaction hash does not match the re-executed events");

        if (keys.SignerAt(network, KeyUse.Endorsement, request.At) is not { } signer)
            return Refused("this endorser does not hold the endorsement key the network records for it");
        return new(EndorsementVerdict.Yes, signer, mine);
    }

    /// <summary>
    /// The submitter must be a member and must have signed this transaction's batch (its hash, alone) with the identity
    /// key it has at the command's time.
    /// </summary>
    private string? Authenticate(EndorsementRequest request, SubmitterProof submitter, NetworkState network)
    {
        // A store whose founding is not the one this node pinned holds nobody this endorser can trust: say why.
        if (directory.Untrusted is { Code: VerificationCodes.GenesisMismatch, Version: 0 })
            return "genesis-mismatch: the network's founding in the store is not the one this node pinned";
        if (submitter.Submitter is null || request.Submitter != submitter.Submitter || !network.IsMember(submitter.Submitter))
            return "the submitter is not a member of the network";
        if (network.KeyAt(submitter.Submitter, KeyUse.Identity, request.At) is not { } key
            || !submitter.Verified.Verify(key.PublicKey, submitter.Root, submitter.Signature))
            return "the submitter's signature does not verify";
        return null;
    }

    /// <summary>Who acts, when, and with what: everything about the command an endorser checks before re-running it.</summary>
    private string? Admit(EndorsementRequest request, object command, NetworkState network, VerifiedSignatures verified)
    {
        if (command is FoundNetwork) return "the network is founded from the genesis file, never by endorsement";
        if (command is not IDomainCommand domain || domain.Actor != request.Actor || domain.At != request.At)
            return "the command's actor or time differ from the proposal's";
        var skew = (request.At - clock.UtcNow).Duration();
        if (skew > options.MaxClockSkew)
            return $"the command's time is {skew.TotalSeconds:0} s from this endorser's clock (at most {options.MaxClockSkew.TotalSeconds:0} s)";
        if (request.Caller is null) return "the proposal carries no caller credential";
        if (request.Caller.Problem(request, network, options.MaxCredentialLifetime, verified) is { } credential) return credential;
        if (network.RegistrationProblem(request.Actor, request.Submitter) is { } registration) return registration;
        return network.CommandProblem(command);
    }

    private static string? Difference(IReadOnlyList<EventEnvelope> mine, IReadOnlyList<ProposedEvent> theirs)
    {
        if (mine.Count == 0) return "re-execution produces no events";
        if (mine.Count != theirs.Count) return $"re-execution produces {mine.Count} events, the proposal {theirs.Count}";
        for (var i = 0; i < mine.Count; i++)
        {
            var (m, t) = (mine[i], theirs[i]);
            if (t is null) return $"event {i} is missing";
            if (m.EventId != t.EventId || m.Type != t.Type) return $"event {i} differs in id or type from re-execution";
            if (!m.Data.AsSpan().SequenceEqual(t.Data)) return $"event {i} differs in its data from re-execution";
            if (!m.Metadata.AsSpan().SequenceEqual(t.Metadata)) return $"event {i} differs in its metadata from re-execution";
        }
        return null;
    }
}

/// <summary>
/// A re-execution's result, untyped: where the stream stood, the envelopes the command produced there, and the decision
/// state they leave (<see cref="After"/>, the decider's state type: what a transaction chained after this one is decided on).
/// </summary>
public sealed record Reexecution(long LastVersion, byte[] LastHash, IReadOnlyList<EventEnvelope> Envelopes, object? After = null);

/// <summary>Which decider owns a stream, so an endorser can re-run any proposal it receives.</summary>
public sealed class StreamDeciders(CommandDecider decider)
{
    /// <summary>
    /// Re-runs the command against the stream as of <paramref name="expectedVersion"/> (read further only if this node has
    /// not seen that far), or, with <paramref name="predecessor"/>, on the state that re-execution left (a chained
    /// transaction: nothing is read).
    /// </summary>
    /// <exception cref="ArgumentException">The command does not belong to the stream.</exception>
    /// <exception cref="InvalidCastException">The predecessor's state is another stream kind's.</exception>
    public async Task<Reexecution> DecideAsync(
        string streamId, object command, DateTimeOffset at, CommandContext context, long expectedVersion, CancellationToken ct, Reexecution? predecessor = null)
    {
        switch (command)
        {
            // Only the canonical stream of the patient the command names: no second spelling of the same patient.
            case IPatientCommand patient when PatientStream.TryParseStreamId(streamId, out var patientId)
                                              && (patient is not RegisterPatient register || register.PatientId == patientId):
                return Untyped(await decider.DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
                    streamId, patient, at, context, ct, expectedVersion, After<PatientState>(predecessor)));
            case INetworkCommand network when streamId == NetworkStream.StreamId:
                return Untyped(await decider.DecideAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(
                    streamId, network, at, context, ct, expectedVersion, After<NetworkState>(predecessor)));
            case IResearchCommand research when streamId == ResearchStream.StreamId:
                return Untyped(await decider.DecideAsync<ResearchDecider, ResearchState, IResearchCommand, IResearchEvent>(
                    streamId, research, at, context, ct, expectedVersion, After<ResearchState>(predecessor)));
            case ILedgerCommand ledger when streamId == LedgerStream.StreamId:
                return Untyped(await decider.DecideAsync<LedgerDecider, LedgerState, ILedgerCommand, ILedgerEvent>(
                    streamId, ledger, at, context, ct, expectedVersion, After<LedgerState>(predecessor)));
            default:
                throw new ArgumentException("The command does not belong to this stream.");
        }
    }

    private static Reexecution Untyped<TState, TEvent>(Decision<TState, TEvent> d) => new(d.LastVersion, d.LastHash, d.Envelopes, d.Next.State);

    /// <summary>The stream as the predecessor's re-execution leaves it (null: no predecessor).</summary>
    private static StreamSnapshot<TState>? After<TState>(Reexecution? predecessor) => predecessor is { Envelopes: [.., var last], After: var state }
        ? new((TState)state!, last.Version, last.Hash)
        : null;
}
