using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

/// <summary>Changes of the network itself: proposed by one member's admin, enacted once the approving members satisfy the membership policy.</summary>
public class GovernanceTests
{
    private static readonly Actor ThirdAdmin = new("admin-third", Role.Admin, Hospitals.Third);
    private static readonly HospitalJoined ThirdJoined = Joined(Hospitals.Third);
    private static readonly HospitalJoined FourthJoined = Joined("fourth");
    private static readonly NetworkChange AdmitFourth = NetworkChange.Admit(Admission("fourth"));

    private static readonly INetworkEvent[] ThreeMembers = [HomeJoined, OtherJoined, ThirdJoined];

    private static INetworkEvent[] Proposed(NetworkChange change, string by = Hospitals.Home, Guid? id = null) =>
        [new ChangeProposed(id ?? ProposalId, change, by), new ChangeApproved(id ?? ProposalId, by)];

    [Fact]
    public void The_default_membership_policy_is_a_majority_of_members() =>
        Assert.Equal("Majority(*)", NetworkSpec.Fold().MembershipPolicy);

    [Fact]
    public void In_a_network_of_one_the_proposers_approval_enacts_at_once() =>
        NetworkSpec.Given(HomeJoined)
            .When(Propose(AdmitFourth, Admin))
            .Then([.. Proposed(AdmitFourth), new ChangeEnacted(ProposalId, [Hospitals.Home]), FourthJoined]);

    [Fact]
    public void A_proposal_alone_does_not_admit_in_a_network_of_three()
    {
        NetworkSpec.Given(ThreeMembers).When(Propose(AdmitFourth, Admin)).Then(Proposed(AdmitFourth));

        var state = NetworkSpec.Fold([.. ThreeMembers, .. Proposed(AdmitFourth)]);
        Assert.False(state.IsMember("fourth"));
        Assert.Equal(new[] { Hospitals.Home }, state.Proposals[ProposalId].ApprovedBy);
        Assert.False(state.Proposals[ProposalId].Enacted);
    }

    [Fact]
    public void The_approval_that_makes_a_majority_enacts_the_change_in_the_same_transaction()
    {
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)])
            .When(Approve(OtherAdmin))
            .Then(new ChangeApproved(ProposalId, Hospitals.Other), new ChangeEnacted(ProposalId, [Hospitals.Home, Hospitals.Other]), FourthJoined);

        var state = NetworkSpec.Fold([.. ThreeMembers, .. Proposed(AdmitFourth), new ChangeApproved(ProposalId, Hospitals.Other),
            new ChangeEnacted(ProposalId, [Hospitals.Home, Hospitals.Other]), FourthJoined]);
        Assert.True(state.IsMember("fourth"));
        Assert.True(state.Proposals[ProposalId].Enacted);
    }

    [Fact]
    public void Each_hospital_approves_once() =>
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)])
            .When(Approve(Admin with { Id = "admin-home-2" }))
            .ThenFails(RejectionKind.Conflict, "already-approved");

    [Fact]
    public void An_unknown_proposal_is_not_found() =>
        NetworkSpec.Given(ThreeMembers).When(Approve(OtherAdmin)).ThenFails(RejectionKind.NotFound, "proposal-not-found");

    [Fact]
    public void An_enacted_proposal_is_not_approved_again() =>
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth), new ChangeApproved(ProposalId, Hospitals.Other),
                new ChangeEnacted(ProposalId, [Hospitals.Home, Hospitals.Other]), FourthJoined])
            .When(Approve(ThirdAdmin))
            .ThenFails(RejectionKind.Conflict, "proposal-enacted");

    [Fact]
    public void Only_admins_of_member_hospitals_propose_or_approve()
    {
        var outsider = new Actor("admin-fourth", Role.Admin, "fourth");
        NetworkSpec.Given(ThreeMembers).When(Propose(AdmitFourth, outsider)).ThenFails(RejectionKind.Forbidden, "not-member-admin");
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)]).When(Approve(outsider)).ThenFails(RejectionKind.Forbidden, "not-member-admin");
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)]).When(Approve(OtherPhysician)).ThenFails(RejectionKind.Forbidden, "admin-required");
    }

    [Fact]
    public void Proposal_ids_are_unique_and_required()
    {
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)])
            .When(Propose(NetworkChange.MembershipPolicy("AND(*)"), Admin))
            .ThenFails(RejectionKind.Conflict, "proposal-exists");
        NetworkSpec.Given(ThreeMembers).When(Propose(AdmitFourth, Admin, Guid.Empty)).ThenFails(RejectionKind.Invalid, "proposal-id-required");
    }

    [Fact]
    public void A_hospital_is_admitted_by_one_open_proposal_at_a_time() =>
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth)])
            .When(Propose(AdmitFourth, OtherAdmin, Ids.Of(101)))
            .ThenFails(RejectionKind.Conflict, "proposal-open");

    [Fact]
    public void Admitting_a_member_is_a_conflict() =>
        NetworkSpec.Given(ThreeMembers).When(Propose(NetworkChange.Admit(Admission(Hospitals.Other)), Admin))
            .ThenFails(RejectionKind.Conflict, "hospital-exists");

    [Fact]
    public void An_approval_is_refused_when_the_change_no_longer_applies()
    {
        // Two proposals to admit the same hospital cannot both be open; here the other one came through a founding-era join.
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(AdmitFourth), FourthJoined])
            .When(Approve(OtherAdmin))
            .ThenFails(RejectionKind.Conflict, "hospital-exists");
    }

    [Fact]
    public void Approvals_are_judged_against_the_members_at_approval_time()
    {
        var policy = NetworkChange.EndorsementPolicy("OutOf(1, *)");
        var policyId = Ids.Of(102);
        INetworkEvent[] twoMembersAndAProposal = [HomeJoined, OtherJoined, .. Proposed(policy, id: policyId)];

        // The third hospital, admitted after the proposal was made, is a member when it approves: home and third are 2 of 3.
        NetworkSpec.Given([.. twoMembersAndAProposal, ThirdJoined])
            .When(Approve(ThirdAdmin, policyId))
            .Then(new ChangeApproved(policyId, Hospitals.Third), new ChangeEnacted(policyId, [Hospitals.Home, Hospitals.Third]),
                new EndorsementPolicyChanged("OutOf(1, *)"));
    }

    [Fact]
    public void The_endorsement_policy_changes_by_proposal()
    {
        var change = NetworkChange.EndorsementPolicy("AND(home, OutOf(1, *))");
        NetworkSpec.Given([.. ThreeMembers, .. Proposed(change)])
            .When(Approve(ThirdAdmin))
            .Then(new ChangeApproved(ProposalId, Hospitals.Third), new ChangeEnacted(ProposalId, [Hospitals.Home, Hospitals.Third]),
                new EndorsementPolicyChanged("AND(home, OutOf(1, *))"));
    }

    [Fact]
    public void The_membership_policy_changes_by_proposal_and_governs_later_ones()
    {
        var unanimity = NetworkChange.MembershipPolicy("and(*)");
        NetworkSpec.Given(ThreeMembers)
            .When(Propose(unanimity, Admin))
            .Then(new ChangeProposed(ProposalId, NetworkChange.MembershipPolicy("AND(*)"), Hospitals.Home), new ChangeApproved(ProposalId, Hospitals.Home));

        INetworkEvent[] enacted =
        [
            .. ThreeMembers, .. Proposed(NetworkChange.MembershipPolicy("AND(*)")), new ChangeApproved(ProposalId, Hospitals.Other),
            new ChangeEnacted(ProposalId, [Hospitals.Home, Hospitals.Other]), new MembershipPolicyChanged("AND(*)"),
        ];
        Assert.Equal("AND(*)", NetworkSpec.Fold(enacted).MembershipPolicy);

        // Now two of three no longer suffice.
        var admit = Ids.Of(103);
        NetworkSpec.Given([.. enacted, .. Proposed(AdmitFourth, id: admit)])
            .When(Approve(OtherAdmin, admit))
            .Then(new ChangeApproved(admit, Hospitals.Other));
        NetworkSpec.Given([.. enacted, .. Proposed(AdmitFourth, id: admit), new ChangeApproved(admit, Hospitals.Other)])
            .When(Approve(ThirdAdmin, admit))
            .Then(new ChangeApproved(admit, Hospitals.Third), new ChangeEnacted(admit, [Hospitals.Home, Hospitals.Other, Hospitals.Third]), FourthJoined);
    }

    [Theory]
    [InlineData(NetworkChangeKind.MembershipPolicy, "OutOf(2, *", "policy-invalid")]
    [InlineData(NetworkChangeKind.MembershipPolicy, "", "policy-required")]
    [InlineData(NetworkChangeKind.MembershipPolicy, "OR(fourth, fifth)", "policy-unsatisfiable")]
    [InlineData(NetworkChangeKind.MembershipPolicy, "OutOf(4, *)", "policy-unsatisfiable")]
    [InlineData(NetworkChangeKind.EndorsementPolicy, "AND(fourth, home)", "policy-unsatisfiable")]
    [InlineData(NetworkChangeKind.EndorsementPolicy, $"OutOf(2, home, {Hospitals.Home})", "policy-unsatisfiable")] // locks the home hospital's own patients
    public void Policies_that_cannot_be_read_or_met_are_refused(NetworkChangeKind kind, string policy, string code) =>
        NetworkSpec.Given(ThreeMembers).When(Propose(new NetworkChange(kind, Policy: policy), Admin)).ThenFails(RejectionKind.Invalid, code);

    [Fact]
    public void A_change_needs_its_kinds_fields()
    {
        NetworkSpec.Given(ThreeMembers).When(Propose(new NetworkChange(NetworkChangeKind.AdmitHospital), Admin))
            .ThenFails(RejectionKind.Invalid, "hospital-required");
        NetworkSpec.Given(ThreeMembers).When(Propose(new NetworkChange((NetworkChangeKind)99), Admin))
            .ThenFails(RejectionKind.Invalid, "change-kind-invalid");
        NetworkSpec.Given(ThreeMembers).When(Propose(null!, Admin)).ThenFails(RejectionKind.Invalid, "change-required");
    }

    [Fact]
    public void A_change_is_stored_in_its_normal_form() =>
        NetworkSpec.Given(ThreeMembers)
            .When(Propose(new NetworkChange(NetworkChangeKind.EndorsementPolicy, Admission("stray"), "outof(1,*)"), Admin))
            .Then(Proposed(NetworkChange.EndorsementPolicy("OutOf(1, *)")));

    [Fact]
    public void Proposals_are_numbered_in_the_order_they_were_made()
    {
        var state = NetworkSpec.Fold([.. ThreeMembers, .. Proposed(AdmitFourth), .. Proposed(NetworkChange.MembershipPolicy("AND(*)"), id: Ids.Of(104))]);
        Assert.Equal(1, state.Proposals[ProposalId].Number);
        Assert.Equal(2, state.Proposals[Ids.Of(104)].Number);
    }
}
