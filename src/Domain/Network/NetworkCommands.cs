using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public sealed record JoinHospital(
    string HospitalId,
    string Name,
    string EndorserEndpoint,
    string EndorsementKeyId,
    string EndorsementPublicKey,
    string IdentityKeyId,
    string IdentityPublicKey,
    Actor Actor,
    DateTimeOffset At) : INetworkCommand;

public sealed record RotateHospitalKey(
    string HospitalId, KeyUse Use, string KeyId, string PublicKey, DateTimeOffset EffectiveFrom,
    Actor Actor, DateTimeOffset At) : INetworkCommand;

public sealed record RegisterPractitioner(
    string HospitalId, string PractitionerId, Role Role, Actor Actor, DateTimeOffset At) : INetworkCommand;

public sealed record RegisterResearcher(
    string ResearcherId, string Organisation, Actor Actor, DateTimeOffset At) : INetworkCommand;

public sealed record ChangeEndorsementPolicy(string Policy, Actor Actor, DateTimeOffset At) : INetworkCommand;

/// <summary>
/// Founds an empty network from the genesis file, in one transaction: the hospitals, their staff, the
/// researchers and the endorsement policy. The only transaction nobody endorses (no member exists before it),
/// so it is valid only as the network stream's first; afterwards the network changes by endorsed commands alone.
/// </summary>
public sealed record FoundNetwork(
    IReadOnlyList<JoinHospital> Hospitals,
    IReadOnlyList<RegisterPractitioner> Practitioners,
    IReadOnlyList<RegisterResearcher> Researchers,
    string? EndorsementPolicy,
    Actor Actor,
    DateTimeOffset At) : INetworkCommand;

public sealed record DeregisterPractitioner(string PractitionerId, Actor Actor, DateTimeOffset At) : INetworkCommand;

/// <summary>A member hospital's admin proposes a change of the network; it counts as the proposer hospital's approval.</summary>
public sealed record ProposeNetworkChange(Guid ProposalId, NetworkChange Change, Actor Actor, DateTimeOffset At) : INetworkCommand;

/// <summary>An admin approves an open proposal for their hospital.</summary>
public sealed record ApproveNetworkChange(Guid ProposalId, Actor Actor, DateTimeOffset At) : INetworkCommand;
