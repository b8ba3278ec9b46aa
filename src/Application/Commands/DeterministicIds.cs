using System.Buffers.Binary;
using System.Security.Cryptography;

namespace HealthEvents.Application.Commands;

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
