using System.Buffers.Binary;
using System.Text;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// The caller's own credential as it travels with a proposal: who acts (subject, role, hospital, patient id) and
/// when their credential is valid, signed with the identity key of the caller's hospital — the key that issued the
/// caller's bearer token — and bound to this very command (stream, command id, transaction hash). Unlike the bearer
/// token, which a peer could replay for any command, an assertion is good for one transaction only, and only the
/// node holding that hospital's identity key can make one. Every endorser checks it for itself (<see cref="Problem"/>).
/// <para>
/// Signed message (ECDSA P-256, SHA-256, IEEE P1363), each field as a 4-byte big-endian length and its bytes, after
/// the ASCII tag <c>healthevents/caller/v1</c>: streamId (UTF-8), commandId (16 bytes, RFC 4122 order), transaction
/// hash (32 bytes), actor id, role (kebab-case), hospital (UTF-8), patient id (16 bytes, or empty), not-before and
/// expiry (8-byte big-endian Unix seconds).
/// </para>
/// </summary>
public sealed record CallerAssertion(Actor Actor, DateTimeOffset NotBefore, DateTimeOffset Expires, string KeyId, byte[] Signature)
{
    private static readonly byte[] Tag = "healthevents/caller/v1"u8.ToArray();

    /// <summary>Signs the assertion for a command with the caller's hospital identity key (<paramref name="identity"/>, of <c>actor.Hospital</c>).</summary>
    public static CallerAssertion Sign(string streamId, Guid commandId, byte[] transactionHash, Actor actor, CredentialPeriod period, IHospitalSigner identity)
    {
        if (!string.Equals(identity.HospitalId, actor.Hospital, StringComparison.Ordinal))
            throw new ArgumentException("An assertion is signed by the caller's own hospital.", nameof(identity));
        var (from, until) = (Seconds(period.NotBefore), Seconds(period.Expires));
        return new(actor, from, until, identity.KeyId, identity.Sign(Message(streamId, commandId, transactionHash, actor, from, until)));
    }

    /// <summary>
    /// Why an endorser must not accept this assertion for <paramref name="request"/>, or null: it names the proposal's
    /// actor, is signed by that hospital's identity key valid at the command's time, covers that time, and is valid for
    /// no longer than <paramref name="maxLifetime"/>.
    /// </summary>
    public string? Problem(EndorsementRequest request, NetworkState network, TimeSpan maxLifetime)
    {
        if (Actor != request.Actor)
            return "the caller's credential names another subject, role, hospital or patient than the command's actor";
        if (network.KeyAt(Actor.Hospital, KeyUse.Identity, request.At) is not { } key || key.KeyId != KeyId
            || Signature is null
            || !EndorsementSignatures.Verify(key.PublicKey, Message(request.StreamId, request.CommandId, request.TransactionHash, Actor, NotBefore, Expires), Signature))
            return $"the caller's credential is not signed by the identity key of {Actor.Hospital} for this command";
        if (request.At < NotBefore || request.At > Expires)
            return "the caller's credential was not valid at the command's time";
        if (Expires - NotBefore > maxLifetime)
            return $"the caller's credential is valid for longer than {maxLifetime.TotalHours:0.#} h";
        return null;
    }

    private static DateTimeOffset Seconds(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());

    private static byte[] Message(string streamId, Guid commandId, byte[] transactionHash, Actor actor, DateTimeOffset from, DateTimeOffset until)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Tag);
        void Field(ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            buffer.Write(length);
            buffer.Write(bytes);
        }
        void Time(DateTimeOffset t)
        {
            Span<byte> seconds = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(seconds, t.ToUnixTimeSeconds());
            Field(seconds);
        }
        Field(Encoding.UTF8.GetBytes(streamId));
        Field(commandId.ToByteArray(bigEndian: true));
        Field(transactionHash ?? []);
        Field(Encoding.UTF8.GetBytes(actor.Id));
        Field(Encoding.UTF8.GetBytes(KebabCase.Of(actor.Role)));
        Field(Encoding.UTF8.GetBytes(actor.Hospital));
        Field(actor.PatientId is { } patient ? patient.ToByteArray(bigEndian: true) : []);
        Time(from);
        Time(until);
        return buffer.ToArray();
    }
}
