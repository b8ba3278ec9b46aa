using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Infrastructure.Endorsement;

// The endorsement ports as a node implements them: signing with the hospitals' keys from the local keyring, knowing
// which hospitals it acts for, and reaching each member's endorser.

/// <summary>One of a hospital's keys from the local keyring, loaded once: ECDSA P-256 over SHA-256, IEEE P1363 signatures.</summary>
public sealed class KeyringSigner : IHospitalSigner, IDisposable
{
    private readonly ECDsa _key;

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

/// <summary>
/// Reaches each member's endorser by the endpoint registered in the network: "in-process" runs it here
/// with the hospital's key from the local keyring (the single-machine default); an http(s) URL calls
/// that hospital's endorser node (the production shape). Each in-process endorser is <see cref="Endorser.Independent"/>:
/// it reads the store into state of its own, never the submitter's cache, as a separate node would.
/// </summary>
public sealed class EndorserClients(
    HospitalKeyring keyring, IHttpClientFactory http, IEventStore store, EventSerializer serializer, IClock clock, EndorsementOptions options,
    Application.Network.NetworkGenesisPin genesis, ILedgeredHistory? ledger = null)
    : IEndorserClients
{
    public const string InProcess = Application.Network.NetworkRules.InProcessEndpoint;
    public const string HttpClientName = "endorsers";

    private readonly ConcurrentDictionary<string, InProcessEndorser> _inProcess = new(StringComparer.Ordinal);

    public IEndorserClient? For(HospitalState hospital)
    {
        if (hospital.EndorserEndpoint == InProcess)
            return HospitalKeyring.IsValidId(hospital.Id) && keyring.Has(hospital.Id, HospitalKeyUse.Endorsement)
                ? _inProcess.GetOrAdd(hospital.Id, id => new InProcessEndorser(
                    Endorser.Independent(store, serializer, clock, options, genesis, ledger), new KeyringKeys(keyring, id, HospitalKeyUse.Endorsement)))
                : null;
        return Uri.TryCreate(hospital.EndorserEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? new HttpEndorser(http.CreateClient(HttpClientName), new Uri(uri, "endorse"))
            : null;
    }

    private sealed class InProcessEndorser(Endorser endorser, IHospitalKeys keys) : IEndorserClient
    {
        // Each endorser runs on its own, as a separate node would, not inline after the others.
        public Task<EndorsementBatchReply> EndorseAsync(EndorsementBatch batch, CancellationToken ct) =>
            Task.Run(() => endorser.EndorseAsync(batch, keys, ct), ct);
    }

    private sealed class HttpEndorser(HttpClient client, Uri endpoint) : IEndorserClient
    {
        public async Task<EndorsementBatchReply> EndorseAsync(EndorsementBatch batch, CancellationToken ct)
        {
            using var response = await client.PostAsJsonAsync(endpoint, batch, Json.Options, ct);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<EndorsementBatchReply>(Json.Options, ct)
                   ?? throw new InvalidDataException("The endorser answered with an empty body.");
        }
    }
}
