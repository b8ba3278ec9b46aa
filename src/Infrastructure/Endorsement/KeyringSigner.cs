using System.Collections.Concurrent;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Infrastructure.Endorsement;

/// <summary>One of a hospital's keys from the local keyring, loaded once: ECDSA P-256 over SHA-256, IEEE P1363 signatures.</summary>
public sealed class KeyringSigner : IHospitalSigner, IDisposable
{
    private readonly ECDsa _key;

    /// <summary>The hospital's current key of this use.</summary>
    public KeyringSigner(HospitalKeyring keyring, string hospitalId, HospitalKeyUse use) : this(keyring.Get(hospitalId, use), hospitalId)
    {
    }

    /// <param name="key">Owned by the signer from now on.</param>
    public KeyringSigner(ECDsa key, string hospitalId)
    {
        _key = key;
        HospitalId = hospitalId;
        KeyId = PublicKeys.KeyId(_key);
    }

    public string HospitalId { get; }
    public string KeyId { get; }

    public byte[] Sign(byte[] message) => EndorsementSignatures.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}

/// <summary>Every key of one use that the keyring holds for a hospital, by key id (current, earlier and pending alike).</summary>
public sealed class KeyringKeys(HospitalKeyring keyring, string hospitalId, HospitalKeyUse use) : IHospitalKeys
{
    private readonly ConcurrentDictionary<string, KeyringSigner> _signers = new(StringComparer.Ordinal);

    public string HospitalId => hospitalId;

    public IHospitalSigner? Signer(string keyId)
    {
        if (_signers.TryGetValue(keyId, out var cached)) return cached;
        // Misses are not remembered: a key created by a rotation in progress appears a moment later.
        return keyring.Get(hospitalId, use, keyId) is { } key ? _signers.GetOrAdd(keyId, _ => new KeyringSigner(key, hospitalId)) : null;
    }
}

/// <summary>
/// This node's hospital: HealthEvents:NodeHospital, else the first hospital (by id) whose identity key this node
/// holds. The node acts for the hospitals whose identity keys it holds — only NodeHospital's when that is set —
/// since only those can vouch for a caller (<see cref="IdentityOf"/>); it signs with the identity key the network
/// records as valid at the time. Resolved on first use, since the keys appear when the network is founded.
/// </summary>
public sealed class KeyringNodeIdentity(HospitalKeyring keyring, NetworkDirectory directory, string? configuredHospital) : INodeIdentity
{
    private readonly Lazy<string> _hospital = new(() =>
        configuredHospital ?? keyring.Hospitals(HospitalKeyUse.Identity).FirstOrDefault()
        ?? throw new InvalidOperationException("This node holds no hospital identity key to submit proposals with."));

    private readonly ConcurrentDictionary<string, KeyringKeys> _identities = new(StringComparer.Ordinal);

    public string HospitalId => _hospital.Value;

    public bool ActsFor(string hospitalId) =>
        (configuredHospital is null || string.Equals(configuredHospital, hospitalId, StringComparison.Ordinal))
        && HospitalKeyring.IsValidId(hospitalId) && keyring.Has(hospitalId, HospitalKeyUse.Identity);

    public IHospitalSigner? IdentityOf(string hospitalId, DateTimeOffset at) =>
        ActsFor(hospitalId)
            ? _identities.GetOrAdd(hospitalId, h => new KeyringKeys(keyring, h, HospitalKeyUse.Identity)).SignerAt(directory.Current, KeyUse.Identity, at)
            : null;
}
