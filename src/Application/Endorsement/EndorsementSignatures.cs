using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// What endorsers sign and how it is checked (docs/architecture.md, "The envelope and the hash chain" and "Endorsement"). The signed message is
/// <see cref="TransactionEndorsement.SignedRoot"/>, 32 bytes: for a batch of one, the transaction hash itself
/// (leaf 0, empty path); for a batch of n, the RFC 9162 Merkle root over the batch's transaction hashes, with
/// the transaction's leaf index and inclusion path stored beside it. Signatures are ECDSA P-256 over SHA-256
/// in IEEE P1363 form (r || s, 64 bytes); public keys travel as base64 SubjectPublicKeyInfo.
/// </summary>
public static class EndorsementSignatures
{
    public const int SignatureSize = P256.SignatureSize;

    private const DSASignatureFormat Format = DSASignatureFormat.IeeeP1363FixedFieldConcatenation;
    private const int MaxCachedKeys = 256;

    /// <summary>
    /// Meter <c>HealthEvents.Crypto</c>: <c>healthevents.crypto.operations</c> ({operation}), the P-256 signatures made
    /// (<c>healthevents.operation</c> = sign) and checked (verify) through this class — what batching saves.
    /// </summary>
    public const string MeterName = "HealthEvents.Crypto";

    private static readonly Meter CryptoMeter = new(MeterName);
    private static readonly Counter<long> Operations = CryptoMeter.CreateCounter<long>("healthevents.crypto.operations", "{operation}",
        "P-256 signatures made (sign) and checked (verify)");
    private static readonly KeyValuePair<string, object?> SignTag = new("healthevents.operation", "sign");
    private static readonly KeyValuePair<string, object?> VerifyTag = new("healthevents.operation", "verify");

    /// <summary>Imported public keys, per thread (an ECDsa instance is not documented as safe to share across threads).</summary>
    [ThreadStatic] private static Dictionary<string, ECDsa?>? _keys;

    /// <summary>Signs <paramref name="message"/> (a signed root, or a transaction hash) with a P-256 key.</summary>
    public static byte[] Sign(ECDsa key, byte[] message)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(message);
        if (key.KeySize != 256) throw new ArgumentException("Endorsement keys are ECDSA P-256.", nameof(key));
        Operations.Add(1, SignTag);
        return key.SignData(message, HashAlgorithmName.SHA256, Format);
    }

    /// <summary>Whether <paramref name="signature"/> is the key's signature of <paramref name="message"/>. False, never an exception, for a malformed key or signature.</summary>
    public static bool Verify(string publicKeyBase64Spki, byte[] message, byte[] signature) =>
        message is not null && signature is { Length: SignatureSize }
        && ImportCached(publicKeyBase64Spki) is { } key
        && Counted(P256.Verify(key, message, signature));

    private static bool Counted(bool verified)
    {
        Operations.Add(1, VerifyTag);
        return verified;
    }

    /// <inheritdoc cref="P256.KeyIdOf(string?)"/>
    public static string? KeyIdOf(string? publicKeyBase64Spki) => P256.KeyIdOf(publicKeyBase64Spki);

    /// <inheritdoc cref="P256.KeyIdOf(ReadOnlySpan{byte})"/>
    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) => P256.KeyIdOf(subjectPublicKeyInfo);

    /// <summary>The endorsement of a transaction signed on its own: the signed root is its hash, leaf 0 of 1, empty path.</summary>
    public static TransactionEndorsement BatchOfOne(
        long firstVersion, int eventCount, byte[] transactionHash, IReadOnlyList<EndorsementSignature> signatures)
    {
        RequireHash(transactionHash, nameof(transactionHash));
        return new TransactionEndorsement(firstVersion, eventCount, (byte[])transactionHash.Clone(), 0, 1, [], signatures);
    }

    /// <summary>The Merkle root an endorser signs for a batch of transactions (in the batch's order).</summary>
    public static byte[] BatchRoot(IReadOnlyList<byte[]> transactionHashes)
    {
        ArgumentNullException.ThrowIfNull(transactionHashes);
        if (transactionHashes.Count == 0) throw new ArgumentException("A batch holds at least one transaction.", nameof(transactionHashes));
        foreach (var hash in transactionHashes) RequireHash(hash, nameof(transactionHashes));
        return transactionHashes.Count == 1 ? (byte[])transactionHashes[0].Clone() : MerkleTree.Root(transactionHashes);
    }

    /// <summary>
    /// The endorsement of the transaction at <paramref name="leafIndex"/> of a batch whose root the
    /// <paramref name="signatures"/> cover: the root, the batch size and this transaction's inclusion path.
    /// </summary>
    public static TransactionEndorsement InBatch(
        long firstVersion, int eventCount, IReadOnlyList<byte[]> batchTransactionHashes, int leafIndex,
        IReadOnlyList<EndorsementSignature> signatures)
    {
        var root = BatchRoot(batchTransactionHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, batchTransactionHashes.Count);
        if (batchTransactionHashes.Count == 1) return BatchOfOne(firstVersion, eventCount, batchTransactionHashes[0], signatures);
        return new TransactionEndorsement(firstVersion, eventCount, root, leafIndex, batchTransactionHashes.Count,
            MerkleTree.InclusionPath(leafIndex, batchTransactionHashes), signatures);
    }

    /// <summary>
    /// Why the endorsement's signed root does not cover <paramref name="transactionHash"/>, or null when it does:
    /// equal to it for a batch of one, proven by the inclusion path for a larger batch.
    /// </summary>
    public static string? RootProblem(TransactionEndorsement endorsement, byte[] transactionHash)
    {
        ArgumentNullException.ThrowIfNull(endorsement);
        if (endorsement.SignedRoot is not { Length: HashChain.HashSize })
            return "The signed root is not a 32-byte hash.";
        if (endorsement.BatchSize < 1 || endorsement.LeafIndex < 0 || endorsement.LeafIndex >= endorsement.BatchSize)
            return $"Leaf {endorsement.LeafIndex} of a batch of {endorsement.BatchSize} is not a place in a batch.";
        var path = endorsement.InclusionPath ?? [];
        if (endorsement.BatchSize == 1)
        {
            if (path.Count != 0) return "A batch of one carries an inclusion path.";
            return CryptographicOperations.FixedTimeEquals(endorsement.SignedRoot, transactionHash)
                ? null
                : "The signed root is not the transaction hash.";
        }
        return MerkleTree.VerifyInclusion(transactionHash, endorsement.LeafIndex, endorsement.BatchSize, path, endorsement.SignedRoot)
            ? null
            : $"The inclusion path does not prove the transaction hash at leaf {endorsement.LeafIndex} of the signed batch of {endorsement.BatchSize}.";
    }

    private static ECDsa? ImportCached(string publicKeyBase64Spki)
    {
        if (string.IsNullOrEmpty(publicKeyBase64Spki)) return null;
        var keys = _keys ??= new Dictionary<string, ECDsa?>(StringComparer.Ordinal);
        if (keys.TryGetValue(publicKeyBase64Spki, out var cached)) return cached;
        if (keys.Count >= MaxCachedKeys)
        {
            foreach (var key in keys.Values) key?.Dispose();
            keys.Clear();
        }
        var imported = P256.Import(publicKeyBase64Spki);
        keys[publicKeyBase64Spki] = imported;
        return imported;
    }

    private static void RequireHash(byte[] hash, string name)
    {
        if (hash is not { Length: HashChain.HashSize }) throw new ArgumentException("Transaction hashes are 32 bytes.", name);
    }
}
