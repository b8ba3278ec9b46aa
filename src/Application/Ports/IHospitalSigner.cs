using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Ports;

/// <summary>A hospital's private key for one use, held by that hospital's node only.</summary>
public interface IHospitalSigner
{
    string HospitalId { get; }
    string KeyId { get; }
    byte[] Sign(byte[] message);
}

/// <summary>A hospital's private keys of one use, by key id: a signer uses the key the network records as valid at the time.</summary>
public interface IHospitalKeys
{
    string HospitalId { get; }

    /// <summary>The key with this id, or null when this node does not hold it.</summary>
    IHospitalSigner? Signer(string keyId);
}

public static class HospitalKeys
{
    /// <summary>The key the network records for this hospital and use at <paramref name="at"/>, if this node holds it.</summary>
    public static IHospitalSigner? SignerAt(this IHospitalKeys keys, NetworkState network, KeyUse use, DateTimeOffset at) =>
        network.KeyAt(keys.HospitalId, use, at) is { } key ? keys.Signer(key.KeyId) : null;
}
