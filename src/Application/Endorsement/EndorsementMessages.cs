using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// A proposal as sent to an endorser (in-process or over HTTP): the command and everything that went
/// into deciding it, the envelopes the submitter got, and the submitter's signature over the
/// transaction hash with its hospital identity key, so an endorser knows which member is asking, and the
/// caller's own credential bound to this command (<see cref="CallerAssertion"/>), so it knows who is acting.
/// </summary>
public sealed record EndorsementRequest(
    string StreamId,
    long ExpectedVersion,
    byte[] PrevHash,
    string CommandType,
    JsonElement Command,
    Actor Actor,
    Guid CommandId,
    Guid CorrelationId,
    DateTimeOffset At,
    IReadOnlyList<ProposedEvent> Events,
    byte[] TransactionHash,
    string Submitter,
    byte[] SubmitterSignature,
    CallerAssertion? Caller)
{
    /// <summary>
    /// The request for a proposal, signed by the submitting node's identity key, with the caller's assertion
    /// signed by the identity key of the caller's hospital (<paramref name="callerHospital"/>).
    /// </summary>
    public static EndorsementRequest Create(Ports.TransactionProposal p, IHospitalSigner submitter, IHospitalSigner callerHospital) =>
        Unsigned(p, submitter.HospitalId, CallerAssertion.Sign(p.StreamId, p.Context.CommandId, p.TransactionHash, p.Context.Actor,
            CallerAssertion.PeriodOf(p), callerHospital)) with { SubmitterSignature = submitter.Sign(p.TransactionHash) };

    /// <summary>
    /// The request for a proposal as one transaction of a batch, before anything is signed: the batch's signature stands for
    /// the submitter's, and <see cref="Caller"/> is filled in by <see cref="EndorsementBatch.Create"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The proposal's command is not a domain command.</exception>
    public static EndorsementRequest Unsigned(Ports.TransactionProposal p, string submitter, CallerAssertion? caller = null)
    {
        var (type, json) = CommandCodec.Encode(p.Command);
        return new EndorsementRequest(p.StreamId, p.Envelopes[0].Version - 1, p.PrevHash, type, json,
            p.Context.Actor, p.Context.CommandId, p.Context.CorrelationId, p.At,
            p.Envelopes.Select(e => new ProposedEvent(e.EventId, e.Type, e.Data, e.Metadata)).ToList(),
            p.TransactionHash, submitter, [], caller);
    }
}

/// <summary>
/// Proposals sent to an endorser together (the only form <c>POST /endorse</c> takes; one proposal is a batch of one).
/// <see cref="SubmitterSignature"/> is the submitting member's identity-key signature over
/// <see cref="EndorsementSignatures.BatchRoot"/> of the transactions' hashes in this order (for one transaction, its
/// hash: the same message as a lone <see cref="EndorsementRequest"/>'s). Each transaction's own
/// <see cref="EndorsementRequest.Submitter"/> must name the batch's submitter; its own signature is not read.
/// </summary>
public sealed record EndorsementBatch(string Submitter, byte[] SubmitterSignature, IReadOnlyList<EndorsementRequest> Transactions)
{
    /// <summary>The most transactions one batch may carry; an endorser refuses a larger one whole.</summary>
    public const int MaxSize = 256;

    /// <summary>A lone request as the batch of one it stands for.</summary>
    public static EndorsementBatch Of(EndorsementRequest request) =>
        new(request.Submitter, request.SubmitterSignature, [request]);

    /// <summary>
    /// The batch for <paramref name="proposals"/> (in order, at most <see cref="MaxSize"/>), made from their requests
    /// (<see cref="EndorsementRequest.Unsigned"/>) and signed once by the submitter's identity key; each caller's
    /// assertion signed by its hospital's identity key (<paramref name="callerHospitals"/>, one per proposal), one
    /// signature per hospital key (<see cref="CallerAssertion.SignAll"/>).
    /// </summary>
    public static EndorsementBatch Create(
        IReadOnlyList<Ports.TransactionProposal> proposals, IReadOnlyList<EndorsementRequest> requests, IHospitalSigner submitter,
        IReadOnlyList<IHospitalSigner> callerHospitals)
    {
        var assertions = CallerAssertion.SignAll(proposals, callerHospitals);
        var signed = requests.Select((r, i) => r with { Submitter = submitter.HospitalId, Caller = assertions[i] }).ToList();
        var root = EndorsementSignatures.BatchRoot(signed.Select(r => r.TransactionHash).ToList());
        return new(submitter.HospitalId, submitter.Sign(root), signed);
    }
}

/// <summary>
/// An endorser's answer to a batch: per transaction, in the batch's order, whether it accepted it (or why not), and one
/// <see cref="Signature"/> over <see cref="EndorsementSignatures.BatchRoot"/> of the accepted transactions' hashes in
/// batch order (null when it accepted none).
/// </summary>
public sealed record EndorsementBatchReply(string HospitalId, EndorsementSignature? Signature, IReadOnlyList<EndorsementVerdict> Transactions)
{
    /// <summary>The same refusal for every transaction of a batch of <paramref name="count"/>.</summary>
    public static EndorsementBatchReply RefusedAll(string hospitalId, int count, string reason, bool stale = false) =>
        new(hospitalId, null, Enumerable.Repeat(new EndorsementVerdict(false, reason, stale), count).ToList());

    /// <summary>The reply to a batch of one, as a lone request's reply.</summary>
    public EndorsementReply Single() => Transactions is [{ Accepted: true }] && Signature is not null
        ? new(HospitalId, Signature, null)
        : EndorsementReply.Refused(HospitalId, Transactions is [{ } only] ? only.Reason ?? "refused" : "the reply does not answer one transaction",
            Transactions is [{ Stale: true }]);
}

/// <summary>One transaction's outcome in an endorser's batch reply: accepted, or refused for <see cref="Reason"/> (<see cref="Stale"/>: the stream had moved on).</summary>
public sealed record EndorsementVerdict(bool Accepted, string? Reason = null, bool Stale = false)
{
    public static readonly EndorsementVerdict Yes = new(true);
}

/// <summary>An endorser's answer: its signature, or why not. <see cref="Stale"/>: the stream had moved on.</summary>
public sealed record EndorsementReply(string HospitalId, EndorsementSignature? Signature, string? Reason, bool Stale = false)
{
    public static EndorsementReply Refused(string hospitalId, string reason, bool stale = false) => new(hospitalId, null, reason, stale);
}

/// <summary>
/// Carries domain commands to endorsers: by their type name and JSON. Commands are never stored, only
/// sent between nodes running the same release, so the CLR name is enough here (unlike events).
/// </summary>
public static class CommandCodec
{
    private static readonly Dictionary<string, Type> Types = typeof(IPatientCommand).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && (typeof(IPatientCommand).IsAssignableFrom(t) || typeof(INetworkCommand).IsAssignableFrom(t)
            || typeof(IResearchCommand).IsAssignableFrom(t) || typeof(ILedgerCommand).IsAssignableFrom(t)))
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Strict on the way in: a null where the command declares none, or a missing constructor parameter, does not read.</summary>
    private static readonly JsonSerializerOptions Strict = new(Serialization.Json.Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static (string Type, JsonElement Json) Encode(object command) =>
        Types.TryGetValue(command.GetType().Name, out var type) && type == command.GetType()
            ? (type.Name, JsonSerializer.SerializeToElement(command, type, Serialization.Json.Options))
            : throw new ArgumentException($"{command.GetType().Name} is not a domain command.", nameof(command));

    public static object Decode(string type, JsonElement json) =>
        Types.TryGetValue(type, out var t)
            ? JsonSerializer.Deserialize(json, t, Strict) ?? throw new JsonException("Empty command.")
            : throw new JsonException($"Unknown command type '{type}'.");
}
