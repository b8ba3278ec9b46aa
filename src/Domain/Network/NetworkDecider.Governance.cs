using System.Collections.Immutable;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

/// <summary>
/// Changes of the network itself — admitting a hospital, the endorsement policy, the membership policy — in the manner
/// of Hyperledger Fabric's channel configuration updates: a member hospital's admin proposes, admins of other members
/// approve, and the change takes effect in the transaction whose approval makes the approving hospitals satisfy the
/// membership policy (default <c>Majority(*)</c>). Approvals are judged against the members at that time.
/// </summary>
public sealed partial class NetworkDecider
{
    private static IReadOnlyList<INetworkEvent> Propose(ProposeNetworkChange command, NetworkState state)
    {
        RequireMemberAdmin(command.Actor, state);
        if (command.ProposalId == Guid.Empty)
            throw RejectedException.Invalid("proposal-id-required", "A proposal id is required.");
        if (state.Proposals.ContainsKey(command.ProposalId))
            throw RejectedException.Conflict("proposal-exists", "A proposal with this id exists.");
        if (command.Change is null)
            throw RejectedException.Invalid("change-required", "The change to propose is required.");

        // Stored in its normal form (canonical policy text, only the fields of its kind), so approvers see what takes effect.
        var (change, _) = Effect(command.Change, state, command.Actor, command.At);
        if (change.Kind == NetworkChangeKind.AdmitHospital && state.Proposals.Values.Any(p =>
                !p.Enacted && p.Change.Kind == NetworkChangeKind.AdmitHospital
                && string.Equals(p.Change.Hospital!.HospitalId, change.Hospital!.HospitalId, StringComparison.Ordinal)))
            throw RejectedException.Conflict("proposal-open", "An open proposal already admits this hospital.");

        var hospital = command.Actor.Hospital;
        var proposed = new ChangeProposed(command.ProposalId, change, hospital);
        var afterProposal = Evolve(state, proposed);
        return [proposed, .. Approval(afterProposal.Proposals[command.ProposalId], hospital, afterProposal, command.Actor, command.At)];
    }

    private static IReadOnlyList<INetworkEvent> Approve(ApproveNetworkChange command, NetworkState state)
    {
        RequireMemberAdmin(command.Actor, state);
        if (!state.Proposals.TryGetValue(command.ProposalId, out var proposal))
            throw RejectedException.NotFound("proposal-not-found", "There is no proposal with this id.");
        if (proposal.Enacted)
            throw RejectedException.Conflict("proposal-enacted", "The proposal has already taken effect.");
        if (proposal.ApprovedBy.Contains(command.Actor.Hospital))
            throw RejectedException.Conflict("already-approved", "This hospital has already approved the proposal.");

        return Approval(proposal, command.Actor.Hospital, state, command.Actor, command.At);
    }

    /// <summary>The hospital's approval, and — when the approvals now satisfy the membership policy — the enactment and its effect.</summary>
    private static IReadOnlyList<INetworkEvent> Approval(NetworkProposal proposal, string hospital, NetworkState state, Actor actor, DateTimeOffset at)
    {
        // Re-validated at every approval: the network may have moved since the proposal (say, the hospital was admitted by another one).
        var (_, effect) = Effect(proposal.Change, state, actor, at);
        var approved = new ChangeApproved(proposal.Id, hospital);
        // Hospitals that left count for nothing; the policy sees only the members of the day.
        var counted = proposal.ApprovedBy.Add(hospital).Where(state.IsMember).ToList();
        var members = state.Hospitals.Keys.ToList();
        if (!EndorsementPolicy.Parse(state.MembershipPolicy).IsSatisfiedBy(counted.ToHashSet(StringComparer.Ordinal), new PolicyContext(members, null)))
            return [approved];
        return [approved, new ChangeEnacted(proposal.Id, counted), effect];
    }

    /// <summary>The change in its normal form and the event that enacts it, or the rule it breaks against this state.</summary>
    private static (NetworkChange Change, INetworkEvent Effect) Effect(NetworkChange change, NetworkState state, Actor actor, DateTimeOffset at)
    {
        switch (change.Kind)
        {
            case NetworkChangeKind.AdmitHospital:
                var h = change.Hospital ?? throw RejectedException.Invalid("hospital-required", "The hospital to admit is required.");
                // A member must be nameable in policies: a principal's characters, and not the word 'home'.
                if (!IsPrincipalId(h.HospitalId))
                    throw RejectedException.Invalid("hospital-id-invalid", "A hospital id is letters, digits, '-' or '_', and not 'home'.");
                var joined = Admit(new JoinHospital(h.HospitalId, h.Name, h.EndorserEndpoint, h.EndorsementKeyId, h.EndorsementPublicKey,
                    h.IdentityKeyId, h.IdentityPublicKey, actor, at), state);
                return (NetworkChange.Admit(h), joined);
            case NetworkChangeKind.EndorsementPolicy:
                var endorsement = CanonicalPolicy(change.Policy);
                // Every member is some patient's home, and the network, ledger and research streams have none: the members
                // must be able to meet the policy on every one of them, or some stream could never be written again.
                foreach (var home in state.Hospitals.Keys.Append(null))
                    RequireSatisfiable(endorsement, state, home);
                return (NetworkChange.EndorsementPolicy(endorsement), new EndorsementPolicyChanged(endorsement));
            case NetworkChangeKind.MembershipPolicy:
                var membership = CanonicalPolicy(change.Policy);
                RequireSatisfiable(membership, state, home: null);
                return (NetworkChange.MembershipPolicy(membership), new MembershipPolicyChanged(membership));
            default:
                throw RejectedException.Invalid("change-kind-invalid", "The kind of change is not known.");
        }
    }

    /// <summary>A policy that even every member together cannot meet would lock the network (no change could ever undo it).</summary>
    private static void RequireSatisfiable(string policy, NetworkState state, string? home)
    {
        var members = state.Hospitals.Keys.ToList();
        if (!EndorsementPolicy.Parse(policy).IsSatisfiedBy(members.ToHashSet(StringComparer.Ordinal), new PolicyContext(members, home)))
            throw RejectedException.Invalid("policy-unsatisfiable", "Not even every member hospital together could satisfy the policy.");
    }

    private static bool IsPrincipalId(string? id) =>
        id is { Length: > 0 and <= 63 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
        && !string.Equals(id, "home", StringComparison.OrdinalIgnoreCase);

    private static NetworkState EvolveProposal(NetworkState state, INetworkEvent @event) => @event switch
    {
        ChangeProposed e => state with
        {
            Proposals = state.Proposals.SetItem(e.ProposalId, new NetworkProposal(e.ProposalId, state.Proposals.Count + 1, e.Change, e.Hospital, [], Enacted: false)),
        },
        ChangeApproved e when state.Proposals.TryGetValue(e.ProposalId, out var p) => state with
        {
            Proposals = state.Proposals.SetItem(e.ProposalId, p with { ApprovedBy = p.ApprovedBy.Add(e.Hospital) }),
        },
        ChangeEnacted e when state.Proposals.TryGetValue(e.ProposalId, out var p) => state with
        {
            Proposals = state.Proposals.SetItem(e.ProposalId, p with { Enacted = true }),
        },
        _ => state,
    };
}
