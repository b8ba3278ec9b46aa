using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// The per-stream hash chain (docs/architecture.md, "The envelope and the hash chain"). The encoding is
/// fixed so any language, the browser included, can recompute it: the ASCII tag, then each field as a
/// 4-byte big-endian length and its bytes — prevHash, streamId, version (8 bytes BE), eventId (16 bytes,
/// RFC 4122 order), type, data, metadata. It covers the stored bytes, never a re-serialisation.
/// </summary>
public static class HashChain
{
    public const int HashSize = 32;
    private static readonly byte[] Tag = "healthevents/v1"u8.ToArray();

    /// <summary>prevHash of version 0.</summary>
    public static byte[] Genesis => new byte[HashSize];

    public static byte[] ComputeHash(
        ReadOnlySpan<byte> prevHash, string streamId, long version, Guid eventId, string type,
        ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Tag);
        AppendField(sha, prevHash);
        AppendField(sha, Encoding.UTF8.GetBytes(streamId));
        Span<byte> versionBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(versionBytes, version);
        AppendField(sha, versionBytes);
        Span<byte> id = stackalloc byte[16];
        eventId.TryWriteBytes(id, bigEndian: true, out _);
        AppendField(sha, id);
        AppendField(sha, Encoding.UTF8.GetBytes(type));
        AppendField(sha, data);
        AppendField(sha, metadata);
        return sha.GetHashAndReset();
    }

    public static byte[] ComputeHash(Ports.EventEnvelope e) =>
        ComputeHash(e.PrevHash, e.StreamId, e.Version, e.EventId, e.Type, e.Data, e.Metadata);

    /// <summary>
    /// Links proposed events after (<paramref name="prevHash"/>, <paramref name="lastVersion"/>): the one
    /// place where versions and hashes are assigned, used by the stores and by proposal building alike.
    /// </summary>
    public static IReadOnlyList<Ports.EventEnvelope> Link(
        string streamId, long lastVersion, byte[] prevHash, IReadOnlyList<Ports.ProposedEvent> events,
        Ports.TransactionEndorsement? endorsement)
    {
        var linked = new Ports.EventEnvelope[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var version = lastVersion + 1 + i;
            var hash = ComputeHash(prevHash, streamId, version, e.EventId, e.Type, e.Data, e.Metadata);
            linked[i] = new Ports.EventEnvelope(e.EventId, streamId, version, e.Type, e.Data, e.Metadata, prevHash, hash, endorsement);
            prevHash = hash;
        }
        return linked;
    }

    private static void AppendField(IncrementalHash sha, ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        sha.AppendData(length);
        sha.AppendData(bytes);
    }
}
