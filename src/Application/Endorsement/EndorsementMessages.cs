using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;

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
    public static EndorsementRequest Create(Ports.TransactionProposal p, IHospitalSigner submitter, IHospitalSigner callerHospital)
    {
        var (type, json) = CommandCodec.Encode(p.Command);
        var period = p.Context.Credential ?? Commands.CredentialPeriod.IssuedAt(p.At);
        return new EndorsementRequest(p.StreamId, p.Envelopes[0].Version - 1, p.PrevHash, type, json,
            p.Context.Actor, p.Context.CommandId, p.Context.CorrelationId, p.At,
            p.Envelopes.Select(e => new ProposedEvent(e.EventId, e.Type, e.Data, e.Metadata)).ToList(),
            p.TransactionHash, submitter.HospitalId, submitter.Sign(p.TransactionHash),
            CallerAssertion.Sign(p.StreamId, p.Context.CommandId, p.TransactionHash, p.Context.Actor, period, callerHospital));
    }
}

/// <summary>An endorser's answer: its signature, or why not. <see cref="Stale"/>: the stream had moved on.</summary>
public sealed record EndorsementReply(string HospitalId, EndorsementSignature? Signature, string? Reason, bool Stale = false)
{
    public static EndorsementReply Refused(string hospitalId, string reason, bool stale = false) => new(hospitalId, null, reason, stale);
}
