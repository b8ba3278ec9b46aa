using System.Collections.Immutable;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public sealed record NetworkState(
    ImmutableDictionary<string, HospitalState> Hospitals,
    ImmutableDictionary<string, PractitionerState> Practitioners,
    ImmutableDictionary<string, ResearcherState> Researchers,
    string EndorsementPolicy)
{
    public const string DefaultEndorsementPolicy = "OutOf(2, *)";

    /// <summary>Who must approve a change of the network itself (admission, policies): by default, as Fabric's channel
    /// mod_policy "MAJORITY Admins", more than half of the member hospitals.</summary>
    public const string DefaultMembershipPolicy = "Majority(*)";

    // Added as init properties, not positional parameters, so every existing construction of the state stays valid.
    public string MembershipPolicy { get; init; } = DefaultMembershipPolicy;

    /// <summary>Every proposed change of the network, open and enacted, by proposal id.</summary>
    public ImmutableDictionary<Guid, NetworkProposal> Proposals { get; init; } = ImmutableDictionary<Guid, NetworkProposal>.Empty;

    public static readonly NetworkState Empty = new(
        ImmutableDictionary<string, HospitalState>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<string, PractitionerState>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<string, ResearcherState>.Empty.WithComparers(StringComparer.Ordinal),
        DefaultEndorsementPolicy);

    public bool IsMember(string hospitalId) => Hospitals.ContainsKey(hospitalId);

    /// <summary>The key a hospital used for <paramref name="use"/> at <paramref name="at"/>, for checking old signatures.</summary>
    public HospitalKey? KeyAt(string hospitalId, KeyUse use, DateTimeOffset at) =>
        Hospitals.TryGetValue(hospitalId, out var hospital) ? hospital.KeyAt(use, at) : null;
}

public sealed record HospitalState(
    string Id,
    string Name,
    string EndorserEndpoint,
    ImmutableList<HospitalKey> EndorsementKeys,
    ImmutableList<HospitalKey> IdentityKeys)
{
    /// <summary>Key history for a use, oldest first; each key is valid until the next one's EffectiveFrom.</summary>
    public ImmutableList<HospitalKey> Keys(KeyUse use) => use == KeyUse.Endorsement ? EndorsementKeys : IdentityKeys;

    public HospitalKey? KeyAt(KeyUse use, DateTimeOffset at) => Keys(use).LastOrDefault(key => key.EffectiveFrom <= at);

    public bool HasKeyId(string keyId) =>
        EndorsementKeys.Exists(key => key.KeyId == keyId) || IdentityKeys.Exists(key => key.KeyId == keyId);

    public HospitalState WithKey(KeyUse use, HospitalKey key) => use == KeyUse.Endorsement
        ? this with { EndorsementKeys = EndorsementKeys.Add(key) }
        : this with { IdentityKeys = IdentityKeys.Add(key) };
}

public sealed record HospitalKey(string KeyId, string PublicKey, DateTimeOffset EffectiveFrom);

public sealed record PractitionerState(string HospitalId, Role Role);

/// <summary>A proposed network change and the member hospitals that approved it, in order (the proposer's first).
/// <paramref name="Number"/> counts proposals from 1 in the order they were made.</summary>
public sealed record NetworkProposal(Guid Id, int Number, NetworkChange Change, string ProposedBy, ImmutableList<string> ApprovedBy, bool Enacted);

/// <param name="Hospital">The member that vouches for the researcher (issues their tokens); null: none yet.</param>
public sealed record ResearcherState(string Organisation, string? Hospital = null);
