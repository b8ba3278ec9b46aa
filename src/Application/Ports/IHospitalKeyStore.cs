using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Ports;

/// <summary>
/// Where this node keeps the private keys of the hospitals it acts for. A rotation makes the new key here first
/// (only its public half goes into the network stream), and makes it current once the network recorded it.
/// </summary>
public interface IHospitalKeyStore
{
    /// <summary>Whether this node holds <paramref name="hospitalId"/>'s private key for <paramref name="use"/> (so it can rotate it).</summary>
    bool Holds(string hospitalId, KeyUse use);

    /// <summary>A new P-256 key pair, kept beside the current key: its id and public half (base64 SubjectPublicKeyInfo).</summary>
    (string KeyId, string PublicKey) CreateNext(string hospitalId, KeyUse use);

    /// <summary>The recorded key becomes the one this node's tokens and command-line tools use.</summary>
    void MakeCurrent(string hospitalId, KeyUse use, string keyId);
}
