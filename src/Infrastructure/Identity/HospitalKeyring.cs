using System.Security.Cryptography;
using HealthEvents.Infrastructure.Files;

namespace HealthEvents.Infrastructure.Identity;

public enum HospitalKeyUse { Identity, Endorsement }

/// <summary>
/// A hospital's own ECDSA P-256 private keys, kept under the data folder and readable by the owner only:
/// keys/{hospital}/{use}.pem is the current key of each use; a rotation (<see cref="CreateNext"/>, then
/// <see cref="MakeCurrent"/> once the network recorded it) keeps every earlier and pending key as
/// keys/{hospital}/{use}-{keyId}.pem, so a signer can always use the key the network says is valid at a time
/// (<see cref="Get(string, HospitalKeyUse, string)"/>). On one machine the keyring holds every demo hospital's
/// keys; in the production shape each node holds only its own.
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
        var pem = CreateOnceFile.ReadOrCreate(PathOf(hospitalId, use), () =>
        {
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return created.ExportPkcs8PrivateKeyPem();
        });
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return key;
    }

    public ECDsa Get(string hospitalId, HospitalKeyUse use) =>
        Has(hospitalId, use)
            ? GetOrCreate(hospitalId, use)
            : throw new InvalidOperationException($"No {use} key for hospital {hospitalId} in {Folder}.");

    /// <summary>The hospital's key with this key id (current, earlier or pending), or null when this keyring does not hold it.</summary>
    public ECDsa? Get(string hospitalId, HospitalKeyUse use, string keyId)
    {
        if (!Has(hospitalId, use)) return null;
        var current = GetOrCreate(hospitalId, use);
        if (PublicKeys.KeyId(current) == keyId) return current;
        current.Dispose();
        if (keyId.Length == 0 || !keyId.All(char.IsAsciiHexDigitLower)) return null;
        var path = VersionPath(hospitalId, use, keyId);
        if (!File.Exists(path)) return null;
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    /// <summary>
    /// A 256-bit secret of the hospital's own (keys/{hospital}/{name}.secret, owner-readable), created on first use and
    /// never rotated: for values that must stay stable yet be unguessable by other members (keyed name-based ids).
    /// </summary>
    public byte[] Secret(string hospitalId, string name)
    {
        if (!IsValidId(name)) throw new ArgumentException("Secret names are letters, digits, '-' and '_'.", nameof(name));
        var path = Path.Combine(Path.GetDirectoryName(PathOf(hospitalId, HospitalKeyUse.Identity))!, name + ".secret");
        return Convert.FromBase64String(CreateOnceFile.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
    }

    /// <summary>A new key for the hospital, kept beside the current one until the network records it: its id and public half.</summary>
    public (string KeyId, string PublicKey) CreateNext(string hospitalId, HospitalKeyUse use)
    {
        if (!Has(hospitalId, use)) throw new InvalidOperationException($"No {use} key for hospital {hospitalId} in {Folder} to rotate.");
        using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyId = PublicKeys.KeyId(created);
        WritePrivate(VersionPath(hospitalId, use, keyId), created);
        return (keyId, PublicKeys.Export(created));
    }

    /// <summary>Makes the key <paramref name="keyId"/> the current one (tokens and the CLI use it); the one it replaces is kept under its id.</summary>
    public void MakeCurrent(string hospitalId, HospitalKeyUse use, string keyId)
    {
        using var next = Get(hospitalId, use, keyId) ?? throw new InvalidOperationException($"No {use} key {keyId} for hospital {hospitalId}.");
        using var current = GetOrCreate(hospitalId, use);
        var currentId = PublicKeys.KeyId(current);
        if (currentId == keyId) return;
        var archived = VersionPath(hospitalId, use, currentId);
        if (!File.Exists(archived)) WritePrivate(archived, current);
        var path = PathOf(hospitalId, use);
        WritePrivate(path + ".next", next);
        File.Move(path + ".next", path, overwrite: true);
    }

    private static void WritePrivate(string path, ECDsa key)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }

    private string VersionPath(string hospitalId, HospitalKeyUse use, string keyId) =>
        Path.Combine(Path.GetDirectoryName(PathOf(hospitalId, use))!, $"{(use == HospitalKeyUse.Identity ? "identity" : "endorsement")}-{keyId}.pem");

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

    public static string KeyId(ECDsa key) => Application.Endorsement.EndorsementSignatures.KeyIdOf(key.ExportSubjectPublicKeyInfo());

    public static ECDsa Import(string publicKey)
    {
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out _);
        return key;
    }
}

/// <summary>The keyring as the application's key store: key uses named as the network names them.</summary>
public sealed class KeyringKeyStore(HospitalKeyring keyring) : Application.Ports.IHospitalKeyStore
{
    public bool Holds(string hospitalId, Domain.Network.KeyUse use) => HospitalKeyring.IsValidId(hospitalId) && keyring.Has(hospitalId, Of(use));

    public (string KeyId, string PublicKey) CreateNext(string hospitalId, Domain.Network.KeyUse use) => keyring.CreateNext(hospitalId, Of(use));

    public void MakeCurrent(string hospitalId, Domain.Network.KeyUse use, string keyId) => keyring.MakeCurrent(hospitalId, Of(use), keyId);

    private static HospitalKeyUse Of(Domain.Network.KeyUse use) =>
        use == Domain.Network.KeyUse.Identity ? HospitalKeyUse.Identity : HospitalKeyUse.Endorsement;
}
