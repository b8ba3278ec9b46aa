using HealthEvents.Application.Endorsement;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Network;

/// <summary>
/// What the network's membership says about an actor or a command. Asked by the node that receives a request
/// (token validation, command validation) and again by every endorser against its own view of the network, so
/// no member takes another's word for it. Answers are reasons (no personal data), null when all is well.
/// </summary>
public static class NetworkRules
{
    /// <summary>
    /// Why <paramref name="actor"/> may not act now: staff must be registered with this role at this hospital,
    /// researchers registered, and a node's own system ids (ledger builder) are used only by the node of that
    /// hospital (<paramref name="submitter"/>). Patients are vouched for by their home hospital, which only their
    /// stream knows: the patient decider checks it.
    /// </summary>
    public static string? RegistrationProblem(this NetworkState network, Actor actor, string? submitter = null)
    {
        if (!network.IsMember(actor.Hospital)) return "the actor's hospital is not a member of the network";
        if (SystemActors.IsSystem(actor.Id))
            return actor.Id != SystemActors.Genesis && actor.Role == Role.Admin && submitter is not null
                   && string.Equals(actor.Hospital, submitter, StringComparison.Ordinal)
                ? null
                : "a node acts under a system id only for its own hospital";
        return actor.Role switch
        {
            Role.Patient => actor.PatientId is null ? "a patient credential names no patient" : null,
            Role.Researcher => network.Researchers.TryGetValue(actor.Id, out var r) && string.Equals(r.Hospital, actor.Hospital, StringComparison.Ordinal)
                ? null
                : $"the actor is not registered in the network as a researcher vouched for by {actor.Hospital}",
            _ => network.Practitioners.TryGetValue(actor.Id, out var p) && p.HospitalId == actor.Hospital && p.Role == actor.Role
                ? null
                : $"the actor is not registered in the network as {KebabCase.Of(actor.Role)} of {actor.Hospital}",
        };
    }

    /// <summary>
    /// Why <paramref name="grantee"/> is nobody the network knows, or null: a member hospital, a registered
    /// practitioner or researcher, a registered researcher's organisation, or a known staff or researcher role.
    /// Ids compare exactly (ordinal); callers normalise input to NFC first (<see cref="Identifiers.Normalize"/>).
    /// </summary>
    public static string? GranteeProblem(this NetworkState network, Grantee grantee)
    {
        if (Identifiers.Problem(grantee.Id) is { } malformed) return malformed;
        return grantee.Kind switch
        {
            GranteeKind.Hospital when network.IsMember(grantee.Id)
                || network.Researchers.Values.Any(r => string.Equals(r.Organisation, grantee.Id, StringComparison.Ordinal)) => null,
            GranteeKind.Hospital => "No member hospital or registered research organisation has this id.",
            GranteeKind.Practitioner when network.Practitioners.ContainsKey(grantee.Id) || network.Researchers.ContainsKey(grantee.Id) => null,
            GranteeKind.Practitioner => "No practitioner or researcher is registered in the network under this id.",
            GranteeKind.Role when KebabCase.TryParse<Role>(grantee.Id, out var role) && role != Role.Patient => null,
            GranteeKind.Role => "Not a staff or researcher role.",
            _ => "The grantee kind is not known.",
        };
    }

    /// <summary>Why the network's membership rules out <paramref name="command"/> whatever its stream holds, or null.</summary>
    public static string? CommandProblem(this NetworkState network, object command) => command switch
    {
        ProposeNetworkChange { Change: { Kind: NetworkChangeKind.AdmitHospital, Hospital: { } h } } => network.AdmissionProblem(h),
        // Judged again when it takes effect: the network may have moved since (another admission, a rotation).
        ApproveNetworkChange a when network.Proposals.TryGetValue(a.ProposalId, out var p)
                                    && p is { Enacted: false, Change: { Kind: NetworkChangeKind.AdmitHospital, Hospital: { } h } }
            => network.AdmissionProblem(h, exceptProposal: a.ProposalId),
        JoinHospital j => network.AdmissionProblem(new HospitalAdmission(j.HospitalId, j.Name, j.EndorserEndpoint,
            j.EndorsementKeyId, j.EndorsementPublicKey, j.IdentityKeyId, j.IdentityPublicKey)),
        // A rotation takes effect at its own time: a key dated later would lock the hospital out of rotating again.
        RotateHospitalKey r when r.EffectiveFrom != r.At => "a key rotation takes effect at the command's time",
        RotateHospitalKey r => network.KeyProblem(r.KeyId, r.PublicKey, exceptProposal: null),
        GrantConsent grant when network.GranteeProblem(grant.Grantee) is { } problem => $"the consent's grantee is not in the network ({problem})",
        DeclareResearchProjection declare
            when declare.Organisation != (network.Researchers.TryGetValue(declare.Actor.Id, out var r) ? r.Organisation : null)
            => "the declaration names another organisation than the researcher's registration",
        _ => null,
    };

    /// <summary>
    /// A hospital joins with keys of its own — valid P-256 keys under their derived ids, used by no member before (a
    /// member registering its own keys under a second name would endorse twice) — and an endorser that is in-process or an http(s) URL.
    /// </summary>
    private static string? AdmissionProblem(this NetworkState network, HospitalAdmission h, Guid? exceptProposal = null)
    {
        if (h.EndorserEndpoint != InProcessEndpoint && !(Uri.TryCreate(h.EndorserEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            return "the endorser endpoint is neither in-process nor an http(s) URL";
        if (string.Equals(h.EndorsementPublicKey, h.IdentityPublicKey, StringComparison.Ordinal))
            return "a hospital's endorsement and identity keys are two different keys";
        return network.KeyProblem(h.EndorsementKeyId, h.EndorsementPublicKey, exceptProposal)
               ?? network.KeyProblem(h.IdentityKeyId, h.IdentityPublicKey, exceptProposal);
    }

    /// <summary>The endpoint of an endorser run inside the submitting node (the single-machine default).</summary>
    public const string InProcessEndpoint = "in-process";

    /// <summary>
    /// A new key: an ECDSA P-256 public key (base64 SubjectPublicKeyInfo) under the id derived from it, that no member
    /// has used and no other open admission names (two admissions with one key would be one key holder counted twice).
    /// </summary>
    private static string? KeyProblem(this NetworkState network, string? keyId, string? publicKey, Guid? exceptProposal)
    {
        if (EndorsementSignatures.KeyIdOf(publicKey) is not { } derived) return "a key is not an ECDSA P-256 public key in canonical SubjectPublicKeyInfo form";
        if (!string.Equals(keyId, derived, StringComparison.Ordinal))
            return "a key's id is the first 16 hex digits of SHA-256 over its SubjectPublicKeyInfo";
        if (network.Hospitals.Values.Any(h => h.HasKeyId(derived))) return "the key is already used by a member hospital";
        return network.Proposals.Values.Any(p => !p.Enacted && p.Id != exceptProposal && p.Change.Hospital is { } other
                                                 && (other.EndorsementKeyId == derived || other.IdentityKeyId == derived))
            ? "the key is named by another open admission"
            : null;
    }
}
