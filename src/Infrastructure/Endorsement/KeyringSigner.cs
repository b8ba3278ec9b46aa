using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Infrastructure.Endorsement;

/// <summary>A hospital's key from the local keyring, loaded once: ECDSA P-256 over SHA-256, IEEE P1363 signatures.</summary>
public sealed class KeyringSigner : IHospitalSigner, IDisposable
{
    private readonly ECDsa _key;

    public KeyringSigner(HospitalKeyring keyring, string hospitalId, HospitalKeyUse use)
    {
        _key = keyring.Get(hospitalId, use);
        HospitalId = hospitalId;
        KeyId = PublicKeys.KeyId(_key);
    }

    public string HospitalId { get; }
    public string KeyId { get; }

    public byte[] Sign(byte[] message) => EndorsementSignatures.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}

/// <summary>
/// This node's hospital: HealthEvents:NodeHospital, else the first hospital (by id) whose identity key this node
/// holds. The node acts for the hospitals whose identity keys it holds — only NodeHospital's when that is set —
/// since only those can vouch for a caller (<see cref="IdentityOf"/>). Resolved on first use, since the keys appear
/// when the network is founded.
/// </summary>
public sealed class KeyringNodeIdentity(HospitalKeyring keyring, string? configuredHospital) : INodeIdentity
{
    private readonly Lazy<KeyringSigner> _signer = new(() => new KeyringSigner(keyring,
        configuredHospital ?? keyring.Hospitals(HospitalKeyUse.Identity).FirstOrDefault()
        ?? throw new InvalidOperationException("This node holds no hospital identity key to submit proposals with."),
        HospitalKeyUse.Identity));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, KeyringSigner> _identities = new(StringComparer.Ordinal);

    public IHospitalSigner Signer => _signer.Value;

    public bool ActsFor(string hospitalId) =>
        (configuredHospital is null || string.Equals(configuredHospital, hospitalId, StringComparison.Ordinal))
        && HospitalKeyring.IsValidId(hospitalId) && keyring.Has(hospitalId, HospitalKeyUse.Identity);

    public IHospitalSigner? IdentityOf(string hospitalId) =>
        ActsFor(hospitalId) ? _identities.GetOrAdd(hospitalId, h => new KeyringSigner(keyring, h, HospitalKeyUse.Identity)) : null;
}
