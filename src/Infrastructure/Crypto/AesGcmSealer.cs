using System.Security.Cryptography;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// AES-256-GCM in one self-describing format: version byte (1) | nonce (12) | ciphertext | tag (16).
/// The version byte is authenticated too (it is prefixed to the associated data), so a future format
/// cannot be confused with this one. Nonces are random: with 96-bit random nonces one key stays safe
/// for far more messages than one patient's record will ever hold (the NIST bound is 2^32).
/// </summary>
public static class AesGcmSealer
{
    public const byte Version1 = 1;
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = 1 + NonceSize + TagSize;

    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        RequireKey(key);
        var sealedBytes = new byte[Overhead + plaintext.Length];
        sealedBytes[0] = Version1;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        var ciphertext = sealedBytes.AsSpan(1 + NonceSize, plaintext.Length);
        var tag = sealedBytes.AsSpan(1 + NonceSize + plaintext.Length, TagSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, WithVersion(Version1, associatedData));
        return sealedBytes;
    }

    /// <summary>
    /// The plaintext. Throws <see cref="CryptographicException"/> for an unknown format and
    /// <see cref="AuthenticationTagMismatchException"/> when the bytes, the key or the associated data differ.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        RequireKey(key);
        if (sealedBytes.Length < Overhead || sealedBytes[0] != Version1)
            throw new CryptographicException("The ciphertext is not in a supported format.");
        var length = sealedBytes.Length - Overhead;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(
            sealedBytes.Slice(1, NonceSize),
            sealedBytes.Slice(1 + NonceSize, length),
            sealedBytes.Slice(1 + NonceSize + length, TagSize),
            plaintext,
            WithVersion(Version1, associatedData));
        return plaintext;
    }

    public static string SealToBase64(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData) =>
        Convert.ToBase64String(Seal(key, plaintext, associatedData));

    /// <summary>Decodes the base64 form; malformed text is a format error like any other, never a FormatException leak.</summary>
    public static byte[] FromBase64(string sealedBase64)
    {
        ArgumentNullException.ThrowIfNull(sealedBase64);
        var buffer = new byte[sealedBase64.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(sealedBase64, buffer, out var written)
            ? buffer[..written]
            : throw new CryptographicException("The ciphertext is not in a supported format.");
    }

    private static byte[] WithVersion(byte version, ReadOnlySpan<byte> associatedData)
    {
        var ad = new byte[1 + associatedData.Length];
        ad[0] = version;
        associatedData.CopyTo(ad.AsSpan(1));
        return ad;
    }

    private static void RequireKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize) throw new CryptographicException($"An AES-256 key is {KeySize} bytes.");
    }
}
