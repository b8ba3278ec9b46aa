using System.Security.Cryptography;

namespace HealthEvents.Infrastructure.Identity;

public enum HospitalKeyUse { Identity, Endorsement }

/// <summary>
/// A hospital's own ECDSA P-256 private keys, one per use, kept under the data folder
/// (keys/{hospital}/{use}.pem, readable by the owner only). On one machine the keyring holds every
/// demo hospital's keys; in the production shape each node holds only its own.
/// </summary>
public sealed class HospitalKeyring(string keysFolder)
{
    public string Folder { get; } = keysFolder;

    public bool Has(string hospitalId, HospitalKeyUse use) => File.Exists(PathOf(hospitalId, use));

    /// <summary>The hospitals whose key for <paramref name="use"/> this keyring holds, by id.</summary>
    public IReadOnlyList<string> Hospitals(HospitalKeyUse use) => Directory.Exists(Folder)
        ? Directory.GetDirectories(Folder).Select(Path.GetFileName).OfType<string>()
            .Where(h => Has(h, use)).Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>The hospital's key, created on first use.</summary>
    public ECDsa GetOrCreate(string hospitalId, HospitalKeyUse use)
    {
        var path = PathOf(hospitalId, use);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var temp = path + ".tmp";
            File.WriteAllText(temp, created.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temp, path, overwrite: false);
        }
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    public ECDsa Get(string hospitalId, HospitalKeyUse use) =>
        Has(hospitalId, use)
            ? GetOrCreate(hospitalId, use)
            : throw new InvalidOperationException($"No {use} key for hospital {hospitalId} in {Folder}.");

    /// <summary>Hospital ids name folders here: letters, digits, '-' and '_' only.</summary>
    public static bool IsValidId(string hospitalId) =>
        hospitalId.Length > 0 && hospitalId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private string PathOf(string hospitalId, HospitalKeyUse use)
    {
        if (!IsValidId(hospitalId))
            throw new ArgumentException("Hospital ids are letters, digits, '-' and '_'.", nameof(hospitalId));
        return Path.Combine(Folder, hospitalId, use == HospitalKeyUse.Identity ? "identity.pem" : "endorsement.pem");
    }
}

/// <summary>How public keys travel in the network stream: base64 SubjectPublicKeyInfo, with an id derived from it.</summary>
public static class PublicKeys
{
    public static string Export(ECDsa key) => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    public static string KeyId(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    public static ECDsa Import(string publicKey)
    {
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out _);
        return key;
    }
}
