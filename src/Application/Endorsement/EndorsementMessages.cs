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
