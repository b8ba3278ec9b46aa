using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

public class PractitionerTests
{
    private static readonly PractitionerRegistered AdminRegistered = new(Hospitals.Home, Admin.Id, Role.Admin);
    private static readonly PractitionerRegistered NurseRegistered = new(Hospitals.Home, "nurse-x", Role.Nurse);

    [Fact]
    public void Admin_deregisters_a_practitioner_of_own_hospital()
    {
        NetworkSpec.Given(HomeJoined, AdminRegistered, NurseRegistered)
            .When(new DeregisterPractitioner("nurse-x", Admin, Now))
            .Then(new PractitionerDeregistered(Hospitals.Home, "nurse-x"));

        // Authentication looks the subject up here: gone from the state, their tokens are refused.
        var state = NetworkSpec.Fold(HomeJoined, AdminRegistered, NurseRegistered, new PractitionerDeregistered(Hospitals.Home, "nurse-x"));
        Assert.False(state.Practitioners.ContainsKey("nurse-x"));
        Assert.True(state.Practitioners.ContainsKey(Admin.Id));
    }

    [Fact]
    public void Only_the_practitioners_own_hospital_deregisters_them() =>
        NetworkSpec.Given(HomeJoined, OtherJoined, NurseRegistered)
            .When(new DeregisterPractitioner("nurse-x", OtherAdmin, Now))
            .ThenFails(RejectionKind.Forbidden, "not-hospital-admin");

    [Fact]
    public void Deregistering_an_unknown_practitioner_is_not_found()
    {
        NetworkSpec.Given(HomeJoined).When(new DeregisterPractitioner("nobody", Admin, Now)).ThenFails(RejectionKind.NotFound, "practitioner-not-found");
        NetworkSpec.Given(HomeJoined).When(new DeregisterPractitioner("", Admin, Now)).ThenFails(RejectionKind.Invalid, "practitioner-id-required");
    }

    [Fact]
    public void Deregistering_twice_is_not_found() =>
        NetworkSpec.Given(HomeJoined, NurseRegistered, new PractitionerDeregistered(Hospitals.Home, "nurse-x"))
            .When(new DeregisterPractitioner("nurse-x", Admin, Now))
            .ThenFails(RejectionKind.NotFound, "practitioner-not-found");

    [Fact]
    public void The_last_admin_of_a_hospital_stays() =>
        NetworkSpec.Given(HomeJoined, OtherJoined, AdminRegistered, new PractitionerRegistered(Hospitals.Other, "admin-other-2", Role.Admin))
            .When(new DeregisterPractitioner(Admin.Id, Admin, Now))
            .ThenFails(RejectionKind.Conflict, "last-admin");

    [Fact]
    public void An_admin_with_a_fellow_admin_may_leave() =>
        NetworkSpec.Given(HomeJoined, AdminRegistered, new PractitionerRegistered(Hospitals.Home, "admin-home-2", Role.Admin))
            .When(new DeregisterPractitioner(Admin.Id, Admin, Now))
            .Then(new PractitionerDeregistered(Hospitals.Home, Admin.Id));

    [Fact]
    public void A_deregistered_id_may_be_registered_again() =>
        NetworkSpec.Given(HomeJoined, NurseRegistered, new PractitionerDeregistered(Hospitals.Home, "nurse-x"))
            .When(new RegisterPractitioner(Hospitals.Home, "nurse-x", Role.Physician, Admin, Now))
            .Then(new PractitionerRegistered(Hospitals.Home, "nurse-x", Role.Physician));

    [Theory]
    [InlineData(SystemActors.Genesis)]
    [InlineData(SystemActors.LedgerBuilder)]
    public void The_nodes_system_ids_are_reserved(string id)
    {
        NetworkSpec.Given(HomeJoined).When(new RegisterPractitioner(Hospitals.Home, id, Role.Admin, Admin, Now)).ThenFails(RejectionKind.Invalid, "practitioner-id-invalid");
        NetworkSpec.Given(HomeJoined).When(new RegisterResearcher(id, "Uni", Admin, Now)).ThenFails(RejectionKind.Invalid, "researcher-id-invalid");
    }
}
