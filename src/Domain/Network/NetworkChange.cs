namespace HealthEvents.Domain.Network;

public enum NetworkChangeKind { AdmitHospital, EndorsementPolicy, MembershipPolicy }

/// <summary>A hospital to admit: what <see cref="HospitalJoined"/> records once the members approve.</summary>
public sealed record HospitalAdmission(
    string HospitalId,
    string Name,
    string EndorserEndpoint,
    string EndorsementKeyId,
    string EndorsementPublicKey,
    string IdentityKeyId,
    string IdentityPublicKey);

/// <summary>
/// A change of the network that needs the membership policy. One flat record rather than a type per kind, so the
/// stored JSON needs no polymorphism: <see cref="Hospital"/> is set for an admission, <see cref="Policy"/> for a policy.
/// </summary>
public sealed record NetworkChange(NetworkChangeKind Kind, HospitalAdmission? Hospital = null, string? Policy = null)
{
    public static NetworkChange Admit(HospitalAdmission hospital) => new(NetworkChangeKind.AdmitHospital, hospital);

    public static NetworkChange EndorsementPolicy(string policy) => new(NetworkChangeKind.EndorsementPolicy, Policy: policy);

    public static NetworkChange MembershipPolicy(string policy) => new(NetworkChangeKind.MembershipPolicy, Policy: policy);
}
