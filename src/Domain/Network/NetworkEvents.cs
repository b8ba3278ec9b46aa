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
/// <param name="Hospital">The member hospital that vouches for the researcher and issues their tokens (the registering
/// admin's); null in events recorded before researchers had one — such a researcher cannot act until registered again.</param>
public sealed record ResearcherRegistered(string ResearcherId, string Organisation, string? Hospital = null) : INetworkEvent;

[EventType("network.endorsement-policy-changed.v1")]
public sealed record EndorsementPolicyChanged(string Policy) : INetworkEvent;

/// <summary>The practitioner is no longer in the network: their tokens are refused from then on.</summary>
[EventType("network.practitioner-deregistered.v1")]
public sealed record PractitionerDeregistered(string HospitalId, string PractitionerId) : INetworkEvent;

[EventType("network.change-proposed.v1")]
public sealed record ChangeProposed(Guid ProposalId, NetworkChange Change, string Hospital) : INetworkEvent;

/// <summary>One member hospital's approval of a proposal (the proposer's own included).</summary>
[EventType("network.change-approved.v1")]
public sealed record ChangeApproved(Guid ProposalId, string Hospital) : INetworkEvent;

/// <summary>
/// The approvals met the membership policy; the change's effect event follows in the same transaction.
/// <paramref name="ApprovedBy"/> are the member hospitals whose approvals counted.
/// </summary>
[EventType("network.change-enacted.v1")]
public sealed record ChangeEnacted(Guid ProposalId, IReadOnlyList<string> ApprovedBy) : INetworkEvent;

[EventType("network.membership-policy-changed.v1")]
public sealed record MembershipPolicyChanged(string Policy) : INetworkEvent;
