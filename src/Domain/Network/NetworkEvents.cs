using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

[EventType("network.hospital-joined.v1")]
public sealed record HospitalJoined(
    string HospitalId,
    string Name,
    string EndorserEndpoint,
    string EndorsementKeyId,
    string EndorsementPublicKey,
    string IdentityKeyId,
    string IdentityPublicKey) : INetworkEvent;

[EventType("network.hospital-key-rotated.v1")]
public sealed record HospitalKeyRotated(
    string HospitalId, KeyUse Use, string KeyId, string PublicKey, DateTimeOffset EffectiveFrom) : INetworkEvent;

[EventType("network.practitioner-registered.v1")]
public sealed record PractitionerRegistered(string HospitalId, string PractitionerId, Role Role) : INetworkEvent;

[EventType("network.researcher-registered.v1")]
public sealed record ResearcherRegistered(string ResearcherId, string Organisation) : INetworkEvent;

[EventType("network.endorsement-policy-changed.v1")]
public sealed record EndorsementPolicyChanged(string Policy) : INetworkEvent;
