using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

public class FoundingTests
{
    private static readonly Actor Genesis = new(SystemActors.Genesis, Role.Admin, Hospitals.Home);

    private static FoundNetwork Found(string? policy = null) => new(
        [Join(Hospitals.Home, Genesis), Join(Hospitals.Other, Genesis)],
        [new RegisterPractitioner(Hospitals.Other, "dr-other", Role.Physician, Genesis with { Hospital = Hospitals.Other }, Now)],
        [new RegisterResearcher("researcher-1", "University", Genesis, Now)],
        policy, Genesis, Now);

    [Fact]
    public void The_genesis_founds_the_network_in_one_transaction() =>
        NetworkSpec.Given()
            .When(Found("AND(home, OutOf(1, *))"))
            .Then(Joined(Hospitals.Home), Joined(Hospitals.Other),
                new PractitionerRegistered(Hospitals.Other, "dr-other", Role.Physician),
                new ResearcherRegistered("researcher-1", "University", Hospitals.Home),
                new EndorsementPolicyChanged("AND(home, OutOf(1, *))"));

    [Fact]
    public void A_founded_network_is_not_founded_again() =>
        NetworkSpec.Given(HomeJoined).When(Found()).ThenFails(RejectionKind.Conflict, "network-founded");

    [Fact]
    public void Each_founding_step_keeps_its_own_rules() =>
        // Staff are registered only by their own hospital, at the founding too.
        NetworkSpec.Given()
            .When(Found() with { Practitioners = [new RegisterPractitioner(Hospitals.Other, "dr-x", Role.Physician, Genesis, Now)] })
            .ThenFails(RejectionKind.Forbidden, "not-hospital-admin");

    [Theory]
    [InlineData("dr\u200Bnew")]        // zero-width space
    [InlineData("dr-new\u202E")]       // right-to-left override
    [InlineData("dr-new ")]            // trailing space
    [InlineData("dr\tnew")]            // control
    [InlineData("e\u0301")]            // not in normalisation form C
    [InlineData(SystemActors.LedgerBuilder)]
    [InlineData(SystemActors.Genesis)]
    public void Practitioner_ids_are_clean_and_never_a_system_id(string id) =>
        NetworkSpec.Given(HomeJoined)
            .When(new RegisterPractitioner(Hospitals.Home, id, Role.Physician, Admin, Now))
            .ThenFails(RejectionKind.Invalid, "practitioner-id-invalid");
}
