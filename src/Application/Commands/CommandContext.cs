using System.Buffers.Binary;
using System.Security.Cryptography;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>
/// Who sends a command and under which ids. The command id seeds the event ids, so a retried command maps to the
/// same events. <see cref="Credential"/> is when the caller's credential (their bearer token) is valid; null when
/// the node acts on its own (founding, ledger heads, the demo seeder), which then vouches for a few minutes only.
/// <see cref="EarlierAttempt"/>: this command id was tried before without an answer (a retry after a failure or a
/// crash), so its events may be stored already — the executor looks for them before appending.
/// </summary>
public sealed record CommandContext(
    Actor Actor, Guid CommandId, Guid CorrelationId, CredentialPeriod? Credential = null, bool EarlierAttempt = false)
{
    public static CommandContext For(Actor actor) => new(actor, Guid.NewGuid(), Guid.NewGuid());
}

/// <summary>When a caller's credential is valid: not before <see cref="NotBefore"/>, not after <see cref="Expires"/> (UTC, whole seconds, as in a JWT's nbf and exp).</summary>
public readonly record struct CredentialPeriod(DateTimeOffset NotBefore, DateTimeOffset Expires)
{
    /// <summary>How long a node vouches for its own actions around their time, with no token behind them.</summary>
    public static readonly TimeSpan NodeIssued = TimeSpan.FromMinutes(5);

    public TimeSpan Lifetime => Expires - NotBefore;

    /// <summary>The period a node issues for its own action at <paramref name="at"/>: from a minute before to five after, whole seconds.</summary>
    public static CredentialPeriod IssuedAt(DateTimeOffset at)
    {
        var from = DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds() - 60);
        return new(from, from + TimeSpan.FromMinutes(1) + NodeIssued);
    }
}

/// <summary>
/// Event ids derived from the command id and the event's index (a name-based UUID, version 8):
/// every endorser re-running the command derives the same ids, and a command retried by its caller
/// appends the same ids, which the store treats as idempotent.
/// </summary>
public static class DeterministicIds
{
    /// <summary>
    /// The command id for a caller's Idempotency-Key: name-based on both, so a retry maps to the same command while
    /// another caller using the same key (by chance, or to pre-empt someone's command) gets a command of its own.
    /// </summary>
    public static Guid CommandId(string caller, Guid idempotencyKey)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(caller);
        var input = new byte[16 + name.Length];
        idempotencyKey.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input, 16);
        return Version8(SHA256.HashData(input));
    }

    /// <summary>A name-based id for a name (a FHIR resource's identity): the same name always gives the same id.</summary>
    public static Guid Named(string name) => Version8(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)));

    /// <summary>A name-based id (version 8, SHA-256) for a name given as bytes.</summary>
    public static Guid Named(ReadOnlySpan<byte> name) => Version8(SHA256.HashData(name));
    /// <summary>
    /// A name-based id keyed by a secret (HMAC-SHA256, RFC 2104): stable for the secret's holder, unguessable for anyone
    /// else even when the name is (a patient's record number).
    /// </summary>
    public static Guid Keyed(byte[] key, string name) => Version8(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(name)));

    public static Guid EventId(Guid commandId, int index)
    {
        Span<byte> input = stackalloc byte[20];
        commandId.TryWriteBytes(input, bigEndian: true, out _);
        BinaryPrimitives.WriteInt32BigEndian(input[16..], index);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        return Version8(hash);
    }

    private static Guid Version8(Span<byte> hash)
    {
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes, bigEndian: true);
    }
}
