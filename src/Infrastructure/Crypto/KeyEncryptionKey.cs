using System.Security.Cryptography;
using HealthEvents.Infrastructure.Files;
using Microsoft.Extensions.Configuration;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// The key that wraps every patient's data key (docs/architecture.md, "Privacy"): 32 bytes, base64 in configuration
/// (<c>Encryption:KeyEncryptionKey</c>), or — for the single-machine default — a file under the data
/// folder created once with owner-only permissions and reused on every start.
/// </summary>
public sealed class KeyEncryptionKey
{
    public const string ConfigurationKey = "Encryption:KeyEncryptionKey";

    /// <summary>Where the single-machine default keeps the key: &lt;data folder&gt;/keys/kek.key.</summary>
    public static string DefaultPath(string dataFolder) => Path.Combine(dataFolder, "keys", "kek.key");

    /// <summary>Whether a key is configured or already kept at <see cref="DefaultPath"/> (nothing is created).</summary>
    public static bool Exists(IConfiguration configuration, string dataFolder) =>
        !string.IsNullOrWhiteSpace(configuration[ConfigurationKey]) || File.Exists(DefaultPath(dataFolder));

    private readonly byte[] _key;

    private KeyEncryptionKey(byte[] key)
    {
        _key = key;
        Id = Convert.ToHexStringLower(SHA256.HashData([.. "healthevents/kek-id/v1"u8, .. key])[..8]);
    }

    internal ReadOnlySpan<byte> Bytes => _key;

    /// <summary>
    /// Names the key without revealing it (a hash prefix), so operators and logs can tell which key is
    /// in use — and a later key rotation can record which key wrapped which row.
    /// </summary>
    public string Id { get; }

    public static KeyEncryptionKey FromBase64(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        var buffer = new byte[AesGcmSealer.KeySize + 3];
        // The message never echoes the value: it is a secret even when malformed.
        if (!Convert.TryFromBase64String(base64.Trim(), buffer, out var written) || written != AesGcmSealer.KeySize)
            throw new InvalidOperationException($"The key-encryption key must be {AesGcmSealer.KeySize} bytes, base64-encoded.");
        return new KeyEncryptionKey(buffer[..written]);
    }

    /// <summary>The configured key, else the one in <paramref name="defaultPath"/> (created there when absent).</summary>
    public static KeyEncryptionKey FromConfiguration(IConfiguration configuration, string defaultPath)
    {
        var configured = configuration[ConfigurationKey];
        return string.IsNullOrWhiteSpace(configured) ? LoadOrCreate(defaultPath) : FromBase64(configured);
    }

    /// <summary>
    /// Reads the key file, or creates it with mode 0600 (<see cref="CreateOnceFile"/>: two processes starting at once agree
    /// on one key, and none reads a half-written file).
    /// </summary>
    /// <exception cref="InvalidOperationException">The file holds no 32-byte base64 key.</exception>
    public static KeyEncryptionKey LoadOrCreate(string path) =>
        FromBase64(CreateOnceFile.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(AesGcmSealer.KeySize))));

    public override string ToString() => $"KeyEncryptionKey({Id})";
}
