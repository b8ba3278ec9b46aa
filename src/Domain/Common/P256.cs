using System.Security.Cryptography;

namespace HealthEvents.Domain.Common;

/// <summary>
/// ECDSA P-256 (FIPS 186-5, curve secp256r1) as the network uses it, for hospitals' keys and patients' device keys alike:
/// public keys travel as base64 DER SubjectPublicKeyInfo (RFC 5480), signatures are over SHA-256 in IEEE P1363 form
/// (r ‖ s, 64 bytes: WebCrypto's own). Pure functions of their input — no clock, no I/O — so a decider may verify a
/// signature and every endorser re-running it verifies it again.
/// </summary>
public static class P256
{
    public const int SignatureSize = 64;

    private const string CurveOid = "1.2.840.10045.3.1.7";

    /// <summary>
    /// The id of a public key (base64 SubjectPublicKeyInfo): the first 16 lowercase hex digits of SHA-256 over the DER
    /// bytes, so an id names one key and nobody can present another key under it. Null when the text is not a P-256
    /// public key in its one canonical encoding.
    /// </summary>
    public static string? KeyIdOf(string? publicKeyBase64Spki)
    {
        if (string.IsNullOrEmpty(publicKeyBase64Spki) || Import(publicKeyBase64Spki) is not { } key) return null;
        using (key)
        {
            // Over the canonical encoding, and only for text that is exactly it: one key, one spelling, one id.
            var canonical = key.ExportSubjectPublicKeyInfo();
            return canonical.AsSpan().SequenceEqual(Convert.FromBase64String(publicKeyBase64Spki)) ? KeyIdOf(canonical) : null;
        }
    }

    /// <summary>The id of a key by its SubjectPublicKeyInfo bytes (DER): the first 16 lowercase hex digits of their SHA-256.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    /// <summary>Whether <paramref name="signature"/> (64 bytes, r ‖ s) is the key's signature of <paramref name="message"/>. False, never an exception, for a malformed key or signature.</summary>
    public static bool Verify(string publicKeyBase64Spki, byte[] message, byte[] signature)
    {
        if (message is null || signature is not { Length: SignatureSize } || Import(publicKeyBase64Spki) is not { } key) return false;
        using (key) return Verify(key, message, signature);
    }

    public static bool Verify(ECDsa publicKey, byte[] message, byte[] signature)
    {
        if (publicKey is null || message is null || signature is not { Length: SignatureSize } || publicKey.KeySize != 256) return false;
        try
        {
            return publicKey.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The P-256 public key of base64 SubjectPublicKeyInfo text (the caller disposes it), or null when it is none.</summary>
    public static ECDsa? Import(string? publicKeyBase64Spki)
    {
        if (string.IsNullOrEmpty(publicKeyBase64Spki)) return null;
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKeyBase64Spki), out var read);
            if (read > 0 && key.ExportParameters(false).Curve.Oid?.Value == CurveOid) return key;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
        }
        key.Dispose();
        return null;
    }
}
