using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

public class HospitalTests
{
    [Theory]
    [MemberData(nameof(EveryCommandName), MemberType = typeof(NetworkFixtures))]
    public void Network_commands_need_an_admin(string command)
    {
        foreach (var actor in new[] { Physician, Nurse, Researcher, Patient })
        {
            NetworkSpec.Given(EveryCommandHistory)
                .When(EveryCommand[command] switch
                {
                    RotateHospitalKey c => c with { Actor = actor },
                    RegisterPractitioner c => c with { Actor = actor },
                    RegisterResearcher c => c with { Actor = actor },
                    DeregisterPractitioner c => c with { Actor = actor },
                    ProposeNetworkChange c => c with { Actor = actor },
                    ApproveNetworkChange c => c with { Actor = actor },
                    var other => other,
                })
                .ThenFails(RejectionKind.Forbidden, "admin-required");
        }
    }

    [Fact]
    public void Every_network_command_is_accepted_from_a_member_admin()
    {
        foreach (var command in EveryCommand.Values)
            Assert.NotEmpty(NetworkDecider.Decide(command, NetworkSpec.Fold(EveryCommandHistory)));
    }

    [Fact]
    public void First_hospital_joins_an_empty_network() =>
        NetworkSpec.Given().When(Join(Hospitals.Home, Admin)).Then(HomeJoined);

    [Fact]
    public void Genesis_still_needs_an_admin() =>
        NetworkSpec.Given().When(Join(Hospitals.Home, Physician)).ThenFails(RejectionKind.Forbidden, "admin-required");

    [Fact]
    public void A_member_admin_no_longer_adds_a_hospital_directly()
    {
        NetworkSpec.Given(HomeJoined).When(Join(Hospitals.Other, Admin)).ThenFails(RejectionKind.Conflict, "proposal-required");
        NetworkSpec.Given(HomeJoined).When(Join(Hospitals.Other, OtherAdmin)).ThenFails(RejectionKind.Conflict, "proposal-required");
    }

    [Fact]
    public void Hospital_ids_are_unique() =>
        NetworkSpec.Given(HomeJoined, OtherJoined).When(Propose(NetworkChange.Admit(Admission(Hospitals.Other)), Admin))
            .ThenFails(RejectionKind.Conflict, "hospital-exists");

    [Fact]
    public void Hospital_needs_id_name_endpoint_and_keys()
    {
        var admission = Admission(Hospitals.Other);
        void Fails(HospitalAdmission a, string code) =>
            NetworkSpec.Given(HomeJoined).When(Propose(NetworkChange.Admit(a), Admin)).ThenFails(RejectionKind.Invalid, code);
        Fails(admission with { HospitalId = "" }, "hospital-id-invalid");
        Fails(admission with { Name = "" }, "name-required");
        Fails(admission with { EndorserEndpoint = "" }, "endpoint-required");
        Fails(admission with { EndorsementPublicKey = "" }, "key-required");
        Fails(admission with { IdentityKeyId = "" }, "key-required");
    }

    [Theory]
    [InlineData("home")]
    [InlineData("west side")]
    [InlineData("west.side")]
    public void Hospital_ids_are_nameable_in_policies(string id) =>
        NetworkSpec.Given(HomeJoined).When(Propose(NetworkChange.Admit(Admission(id)), Admin))
            .ThenFails(RejectionKind.Invalid, "hospital-id-invalid");

    [Fact]
    public void Endorsement_and_identity_keys_have_distinct_ids() =>
        NetworkSpec.Given(HomeJoined).When(Propose(NetworkChange.Admit(Admission(Hospitals.Other) with { IdentityKeyId = "haukeland-endorse-1" }), Admin))
            .ThenFails(RejectionKind.Invalid, "key-id-reused");

    [Fact]
    public void Hospital_admin_rotates_its_key() =>
        NetworkSpec.Given(HomeJoined).When(Rotate(Admin))
            .Then(new HospitalKeyRotated(Hospitals.Home, KeyUse.Endorsement, "st-olav-endorse-2", "pk-endorse-2", Days(1)));

    [Fact]
    public void Only_its_own_admin_rotates_a_hospital_key() =>
        NetworkSpec.Given(HomeJoined, OtherJoined).When(Rotate(OtherAdmin)).ThenFails(RejectionKind.Forbidden, "not-hospital-admin");

    [Fact]
    public void Rotating_a_key_of_an_unknown_hospital_is_not_found() =>
        NetworkSpec.Given(OtherJoined).When(Rotate(Admin)).ThenFails(RejectionKind.NotFound, "hospital-not-found");

    [Fact]
    public void Rotated_key_cannot_take_effect_in_the_past() =>
        NetworkSpec.Given(HomeJoined).When(Rotate(Admin, effectiveFrom: Days(-1))).ThenFails(RejectionKind.Invalid, "effective-from-in-past");

    [Fact]
    public void Rotated_key_needs_id_and_public_key() =>
        NetworkSpec.Given(HomeJoined).When(Rotate(Admin) with { PublicKey = " " }).ThenFails(RejectionKind.Invalid, "key-required");

    [Fact]
    public void Key_ids_are_never_reused()
    {
        NetworkSpec.Given(HomeJoined).When(Rotate(Admin, keyId: "st-olav-endorse-1")).ThenFails(RejectionKind.Conflict, "key-id-reused");
        NetworkSpec.Given(HomeJoined).When(Rotate(Admin, keyId: "st-olav-id-1")).ThenFails(RejectionKind.Conflict, "key-id-reused");
    }

    [Fact]
    public void Rotations_take_effect_in_order() =>
        NetworkSpec.Given(HomeJoined, new HospitalKeyRotated(Hospitals.Home, KeyUse.Endorsement, "st-olav-endorse-2", "pk-2", Days(10)))
            .When(Rotate(Admin, keyId: "st-olav-endorse-3", effectiveFrom: Days(5)))
            .ThenFails(RejectionKind.Conflict, "key-rotation-out-of-order");

    [Fact]
    public void Key_history_gives_the_key_valid_at_a_time()
    {
        var state = NetworkSpec.Fold(
            HomeJoined,
            new HospitalKeyRotated(Hospitals.Home, KeyUse.Endorsement, "st-olav-endorse-2", "pk-2", Days(1)),
            new HospitalKeyRotated(Hospitals.Home, KeyUse.Identity, "st-olav-id-2", "pk-id-2", Days(2)));

        Assert.Equal("st-olav-endorse-1", state.KeyAt(Hospitals.Home, KeyUse.Endorsement, Now)?.KeyId);
        Assert.Equal("st-olav-endorse-2", state.KeyAt(Hospitals.Home, KeyUse.Endorsement, Days(1))?.KeyId);
        Assert.Equal("st-olav-id-1", state.KeyAt(Hospitals.Home, KeyUse.Identity, Days(1))?.KeyId);
        Assert.Equal("st-olav-id-2", state.KeyAt(Hospitals.Home, KeyUse.Identity, Days(2))?.KeyId);
        Assert.Equal(2, state.Hospitals[Hospitals.Home].Keys(KeyUse.Endorsement).Count);
        Assert.Null(state.KeyAt(Hospitals.Third, KeyUse.Endorsement, Now));
    }
}
