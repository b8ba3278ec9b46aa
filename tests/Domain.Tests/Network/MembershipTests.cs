using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

public class MembershipTests
{
    [Fact]
    public void Admin_registers_a_practitioner_of_own_hospital() =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterPractitioner(Hospitals.Home, "nurse-new", Role.HomeCare, Admin, Now))
            .Then(new PractitionerRegistered(Hospitals.Home, "nurse-new", Role.HomeCare));

    [Fact]
    public void Practitioners_are_registered_only_by_their_own_hospital() =>
        NetworkSpec.Given(HomeJoined, OtherJoined)
            .When(new RegisterPractitioner(Hospitals.Home, "nurse-new", Role.Nurse, OtherAdmin, Now))
            .ThenFails(RejectionKind.Forbidden, "not-hospital-admin");

    [Fact]
    public void Practitioner_of_an_unknown_hospital_is_not_found() =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterPractitioner(Hospitals.Third, "nurse-new", Role.Nurse, Admin with { Hospital = Hospitals.Third }, Now))
            .ThenFails(RejectionKind.NotFound, "hospital-not-found");

    [Theory]
    [InlineData(Role.Researcher)]
    [InlineData(Role.Patient)]
    public void Practitioner_role_must_be_a_practitioner_role(Role role) =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterPractitioner(Hospitals.Home, "someone", role, Admin, Now))
            .ThenFails(RejectionKind.Invalid, "role-not-practitioner");

    [Fact]
    public void Practitioner_needs_an_id() =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterPractitioner(Hospitals.Home, "", Role.Nurse, Admin, Now))
            .ThenFails(RejectionKind.Invalid, "practitioner-id-required");

    [Fact]
    public void Practitioner_ids_are_unique() =>
        NetworkSpec.Given(HomeJoined, OtherJoined, new PractitionerRegistered(Hospitals.Other, "dr-x", Role.Physician))
            .When(new RegisterPractitioner(Hospitals.Home, "dr-x", Role.Nurse, Admin, Now))
            .ThenFails(RejectionKind.Conflict, "practitioner-exists");

    [Fact]
    public void Member_admin_registers_a_researcher() =>
        NetworkSpec.Given(HomeJoined, OtherJoined)
            .When(new RegisterResearcher("researcher-1", "University of Bergen", OtherAdmin, Now))
            .Then(new ResearcherRegistered("researcher-1", "University of Bergen", Hospitals.Other));

    [Fact]
    public void Only_a_member_admin_registers_a_researcher() =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterResearcher("researcher-1", "University of Bergen", OtherAdmin, Now))
            .ThenFails(RejectionKind.Forbidden, "not-member-admin");

    [Fact]
    public void Researcher_needs_id_and_organisation()
    {
        NetworkSpec.Given(HomeJoined).When(new RegisterResearcher("", "Uni", Admin, Now)).ThenFails(RejectionKind.Invalid, "researcher-id-required");
        NetworkSpec.Given(HomeJoined).When(new RegisterResearcher("r", "", Admin, Now)).ThenFails(RejectionKind.Invalid, "organisation-required");
    }

    [Fact]
    public void Researcher_ids_are_unique() =>
        NetworkSpec.Given(HomeJoined, new ResearcherRegistered("researcher-1", "Uni", Hospitals.Home))
            .When(new RegisterResearcher("researcher-1", "Other uni", Admin, Now))
            .ThenFails(RejectionKind.Conflict, "researcher-exists");

    [Fact]
    public void Default_endorsement_policy_is_two_of_all() =>
        Assert.Equal("OutOf(2, *)", NetworkSpec.Fold().EndorsementPolicy);

    [Fact]
    public void The_endorsement_policy_is_no_longer_changed_on_one_admins_word()
    {
        NetworkSpec.Given(HomeJoined)
            .When(new ChangeEndorsementPolicy("AND(home, OutOf(1, *))", Admin, Now))
            .ThenFails(RejectionKind.Conflict, "proposal-required");
        Assert.Equal("X", NetworkSpec.Fold(HomeJoined, new EndorsementPolicyChanged("X")).EndorsementPolicy);
    }

    [Fact]
    public void Endorsement_policy_must_not_be_empty() =>
        NetworkSpec.Given(HomeJoined)
            .When(Propose(NetworkChange.EndorsementPolicy(" "), Admin))
            .ThenFails(RejectionKind.Invalid, "policy-required");

    [Fact]
    public void Registered_members_are_kept_in_state()
    {
        var state = NetworkSpec.Fold(HomeJoined, new PractitionerRegistered(Hospitals.Home, "dr-x", Role.Physician), new ResearcherRegistered("r-1", "Uni"));

        Assert.Equal(new PractitionerState(Hospitals.Home, Role.Physician), state.Practitioners["dr-x"]);
        Assert.Equal("Uni", state.Researchers["r-1"].Organisation);
        Assert.True(state.IsMember(Hospitals.Home));
    }

    [Fact]
    public void One_id_names_one_person_and_organisations_are_no_hospitals()
    {
        NetworkSpec.Given(HomeJoined, new PractitionerRegistered(Hospitals.Home, "dr-x", Role.Physician))
            .When(new RegisterResearcher("dr-x", "Uni", Admin, Now)).ThenFails(RejectionKind.Conflict, "id-taken");
        NetworkSpec.Given(HomeJoined, new ResearcherRegistered("r-1", "Uni", Hospitals.Home))
            .When(new RegisterPractitioner(Hospitals.Home, "r-1", Role.Nurse, Admin, Now)).ThenFails(RejectionKind.Conflict, "id-taken");
        NetworkSpec.Given(HomeJoined, OtherJoined)
            .When(new RegisterResearcher("r-2", Hospitals.Other, Admin, Now)).ThenFails(RejectionKind.Invalid, "organisation-invalid");
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterResearcher("r-2", "Lakeside\u200B University", Admin, Now)).ThenFails(RejectionKind.Invalid, "organisation-invalid");
    }

    [Fact]
    public void The_registering_hospital_vouches_for_its_researcher_and_an_unvouched_one_may_be_registered_again() =>
        NetworkSpec.Given(HomeJoined, OtherJoined, new ResearcherRegistered("r-1", "Uni"))
            .When(new RegisterResearcher("r-1", "Uni", OtherAdmin, Now))
            .Then(new ResearcherRegistered("r-1", "Uni", Hospitals.Other));
}
