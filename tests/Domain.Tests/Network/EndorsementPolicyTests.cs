using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static NetworkFixtures;
using static Times;

public class EndorsementPolicyTests
{
    private static readonly string[] Three = ["lakeside", "northside", "riverside"];
    private static readonly PolicyContext Network = new(Three, HomeHospital: "northside");
    private static readonly PolicyContext NoHome = new(Three, HomeHospital: null);

    private static IReadOnlySet<string> Signed(params string[] hospitals) => new HashSet<string>(hospitals, StringComparer.Ordinal);

    private static bool Satisfied(string policy, PolicyContext context, params string[] signers) =>
        EndorsementPolicy.Parse(policy).IsSatisfiedBy(Signed(signers), context);

    [Theory]
    [InlineData()]
    [InlineData("lakeside")]
    [InlineData("northside", "mallory")]
    public void The_default_is_not_met_by_fewer_than_two_members(params string[] signers)
    {
        Assert.False(EndorsementPolicy.Parse(NetworkState.DefaultEndorsementPolicy).IsSatisfiedBy(Signed(signers), Network));
    }

    [Theory]
    [InlineData("lakeside", "riverside")]
    [InlineData("lakeside", "northside")]
    [InlineData("lakeside", "northside", "riverside")]
    public void Any_two_of_three_meet_the_default(params string[] signers) =>
        Assert.True(Satisfied("OutOf(2, *)", Network, signers));

    [Fact]
    public void Star_counts_the_members_of_the_day()
    {
        Assert.True(Satisfied("AND(*)", Network, Three));
        Assert.False(Satisfied("AND(*)", new PolicyContext([.. Three, "westside"], null), Three));
        Assert.True(Satisfied("OR(*)", Network, "riverside"));
        // Nobody to endorse: a gate without alternatives is never met vacuously.
        Assert.False(Satisfied("AND(*)", new PolicyContext([], null)));
        Assert.False(Satisfied("OutOf(2, *)", new PolicyContext(["lakeside"], null), "lakeside"));
    }

    [Fact]
    public void Endorsers_that_are_not_members_count_for_nothing()
    {
        Assert.False(Satisfied("OutOf(2, *)", Network, "lakeside", "mallory"));
        Assert.False(Satisfied("OR(mallory, lakeside)", Network, "mallory"));
        Assert.DoesNotContain("mallory", EndorsementPolicy.Parse("OR(mallory, lakeside)").Principals(Network));
    }

    [Fact]
    public void And_or_and_out_of_nest()
    {
        const string policy = "OR(AND(lakeside, northside), OutOf(2, riverside, westside, AND(eastside, lakeside)))";
        var five = new PolicyContext([.. Three, "westside", "eastside"], null);

        Assert.True(Satisfied(policy, five, "lakeside", "northside"));
        Assert.True(Satisfied(policy, five, "riverside", "westside"));
        Assert.True(Satisfied(policy, five, "riverside", "eastside", "lakeside"));
        Assert.False(Satisfied(policy, five, "riverside", "eastside"));
        Assert.False(Satisfied(policy, five, "lakeside", "westside"));
        Assert.False(Satisfied(policy, five));
    }

    [Fact]
    public void Home_is_the_patients_home_hospital()
    {
        Assert.True(Satisfied("home", Network, "northside"));
        Assert.False(Satisfied("home", Network, "lakeside", "riverside"));
        Assert.True(Satisfied("AND(home, riverside)", Network, "northside", "riverside"));
    }

    [Fact]
    public void On_a_stream_of_no_patient_home_is_any_one_member()
    {
        Assert.True(Satisfied("home", NoHome, "riverside"));
        Assert.False(Satisfied("home", NoHome));
        Assert.False(Satisfied("home", NoHome, "westside"));
        // "The home hospital and one other" asks two members of the network and ledger streams, and never blocks them.
        Assert.False(Satisfied("AND(home, OutOf(1, *))", NoHome, "lakeside"));
        Assert.True(Satisfied("AND(home, OutOf(1, *))", NoHome, "lakeside", "northside"));
    }

    /// <summary>
    /// The choice for "the patient's home hospital AND 1 other": each hospital's endorsement counts once (as a
    /// Fabric signature is consumed by the principal it satisfies), so the home's own signature does not also
    /// make the OutOf(1, *) part. To let it count, write OR(home, ...) or OutOf(1, *) alone.
    /// </summary>
    [Fact]
    public void Home_and_one_other_needs_two_hospitals()
    {
        const string policy = "AND(home, OutOf(1, *))";

        Assert.False(Satisfied(policy, Network, "northside"));
        Assert.True(Satisfied(policy, Network, "northside", "lakeside"));
        Assert.False(Satisfied(policy, Network, "lakeside", "riverside"));
        Assert.Equal(
            "needs all of northside (home), (1 of lakeside, northside, riverside) (each hospital counts once); has northside",
            EndorsementPolicy.Parse(policy).Explain(Signed("northside"), Network));
    }

    [Fact]
    public void Counting_once_does_not_depend_on_the_order_of_the_alternatives()
    {
        // Fabric consumes signatures greedily, so OutOf(1, *) listed first could take the home's signature and fail home.
        Assert.True(Satisfied("AND(OutOf(1, *), home)", Network, "northside", "lakeside"));
        Assert.True(Satisfied("AND(OutOf(2, *), home)", Network, Three));
        Assert.False(Satisfied("AND(OutOf(2, *), home)", Network, "northside", "lakeside"));
        Assert.True(Satisfied("AND(OR(northside, lakeside), OR(northside, riverside))", Network, "northside", "lakeside"));
        Assert.False(Satisfied("AND(OR(northside, lakeside), OR(northside, lakeside))", Network, "northside"));
    }

    [Fact]
    public void Explain_says_what_is_missing()
    {
        var policy = EndorsementPolicy.Parse(NetworkState.DefaultEndorsementPolicy);

        Assert.Equal("needs 2 of lakeside, northside, riverside; has northside", policy.Explain(Signed("northside", "mallory"), Network));
        Assert.Equal("needs 2 of lakeside, northside, riverside; has none", policy.Explain(Signed(), Network));
        Assert.Equal("satisfied by lakeside, northside", policy.Explain(Signed("northside", "lakeside"), Network));
        Assert.Equal("needs all of lakeside, riverside; has riverside",
            EndorsementPolicy.Parse("AND(lakeside, riverside)").Explain(Signed("riverside"), Network));
    }

    [Fact]
    public void Principals_are_the_members_worth_asking()
    {
        Assert.Equal(Three, EndorsementPolicy.Parse(NetworkState.DefaultEndorsementPolicy).Principals(Network).Order());
        Assert.Equal(["lakeside", "northside"], EndorsementPolicy.Parse("AND(home, lakeside)").Principals(Network).Order());
        Assert.Equal(Three, EndorsementPolicy.Parse("AND(home, lakeside)").Principals(NoHome).Order());
    }

    [Theory]
    [InlineData("OutOf(2, *)", "OutOf(2, *)")]
    [InlineData("and( HOME ,outof(1,*) )", "AND(home, OutOf(1, *))")]
    [InlineData("Or(lakeside,AND(north-side_2, riverside))", "OR(lakeside, AND(north-side_2, riverside))")]
    [InlineData("OUTOF(1, home)", "OutOf(1, home)")]
    [InlineData(" lakeside ", "lakeside")]
    public void Text_round_trips_through_the_canonical_form(string text, string canonical)
    {
        var policy = EndorsementPolicy.Parse(text);

        Assert.Equal(canonical, policy.ToString());
        Assert.Equal(policy, EndorsementPolicy.Parse(policy.ToString()));
        Assert.Equal(canonical, EndorsementPolicy.Parse(canonical).ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("*", "inside a gate")]
    [InlineData("AND()", "at least one")]
    [InlineData("AND(a, b", "')' is missing")]
    [InlineData("AND(a b)", "expected ',' or ')'")]
    [InlineData("AND(a,)", "expected a hospital id")]
    [InlineData("XOR(a, b)", "unknown gate 'XOR'")]
    [InlineData("OutOf(a, b)", "count first")]
    [InlineData("OutOf(0, a)", "at least 1")]
    [InlineData("OutOf(-1, a)", "count first")]
    [InlineData("OutOf(99999999999, *)", "count first")]
    [InlineData("OutOf(3, a, b)", "only 2 alternatives")]
    [InlineData("OutOf(2 a, b)", "','")]
    [InlineData("AND(a, a)", "names 'a' twice")]
    [InlineData("OR(home, HOME)", "names 'home' twice")]
    [InlineData("a b", "unexpected 'b'")]
    [InlineData("AND(a, b))", "unexpected ')'")]
    [InlineData("'Org1.member'", "unexpected '''")]
    [InlineData("AND(lake.side)", "expected ',' or ')'")]
    public void Malformed_policies_are_refused_with_a_reason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => EndorsementPolicy.Parse(text));

        Assert.Contains(reason, error.Message);
        Assert.False(EndorsementPolicy.TryParse(text, out _, out var message));
        Assert.Equal(error.Message, message);
    }

    [Fact]
    public void Deep_or_long_policies_are_refused()
    {
        var deep = string.Concat(Enumerable.Repeat("OR(", 40)) + "a" + new string(')', 40);
        Assert.Contains("deeper", Assert.Throws<FormatException>(() => EndorsementPolicy.Parse(deep)).Message);
        var longText = "OR(" + string.Join(", ", Enumerable.Range(0, 500).Select(i => $"h{i}")) + ")";
        Assert.Contains("longer", Assert.Throws<FormatException>(() => EndorsementPolicy.Parse(longText)).Message);
    }

    [Fact]
    public void Many_members_evaluate_quickly()
    {
        var members = Enumerable.Range(0, 200).Select(i => $"h{i:D3}").ToArray();
        var context = new PolicyContext(members, "h000");

        Assert.True(EndorsementPolicy.Parse("AND(home, OutOf(100, *))").IsSatisfiedBy(Signed(members[..101]), context));
        Assert.False(EndorsementPolicy.Parse("AND(home, OutOf(100, *))").IsSatisfiedBy(Signed(members[..100]), context));
    }

    [Fact]
    public void The_network_refuses_a_policy_it_cannot_read() =>
        NetworkSpec.Given(HomeJoined)
            .When(Propose(NetworkChange.EndorsementPolicy("OutOf(2, *"), Admin))
            .ThenFails(RejectionKind.Invalid, "policy-invalid");

    [Fact]
    public void The_network_stores_a_policy_in_its_canonical_text() =>
        NetworkSpec.Given(HomeJoined)
            .When(Propose(NetworkChange.EndorsementPolicy("or(home, outof(1, *))"), Admin))
            .Then(
                new ChangeProposed(ProposalId, NetworkChange.EndorsementPolicy("OR(home, OutOf(1, *))"), Hospitals.Home),
                new ChangeApproved(ProposalId, Hospitals.Home),
                new ChangeEnacted(ProposalId, [Hospitals.Home]),
                new EndorsementPolicyChanged("OR(home, OutOf(1, *))"));

    [Fact]
    public void A_policy_the_members_could_never_meet_is_refused() =>
        // One member cannot be both the home hospital and "one other".
        NetworkSpec.Given(HomeJoined)
            .When(Propose(NetworkChange.EndorsementPolicy("AND(home, OutOf(1, *))"), Admin))
            .ThenFails(RejectionKind.Invalid, "policy-unsatisfiable");

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(5, 3)]
    public void Majority_is_more_than_half_of_the_members(int members, int needed)
    {
        var hospitals = Enumerable.Range(0, members).Select(i => $"h{i}").ToArray();
        var context = new PolicyContext(hospitals, null);
        var majority = EndorsementPolicy.Parse("Majority(*)");

        Assert.True(majority.IsSatisfiedBy(Signed(hospitals[..needed]), context));
        Assert.False(majority.IsSatisfiedBy(Signed(hospitals[..(needed - 1)]), context));
    }

    [Fact]
    public void Majority_takes_named_alternatives_and_nests()
    {
        Assert.True(Satisfied("Majority(lakeside, northside, riverside)", Network, "lakeside", "riverside"));
        Assert.False(Satisfied("Majority(lakeside, northside)", Network, "lakeside"));
        Assert.True(Satisfied("AND(northside, Majority(*))", Network, "northside", "lakeside", "riverside"));
        Assert.False(Satisfied("AND(northside, Majority(*))", Network, "northside", "lakeside"));
        Assert.False(Satisfied("Majority(*)", new PolicyContext([], null)));
        Assert.Equal("needs 2 of lakeside, northside, riverside; has none", EndorsementPolicy.Parse("Majority(*)").Explain(Signed(), Network));
    }

    [Theory]
    [InlineData("majority(*)", "Majority(*)")]
    [InlineData("MAJORITY( a ,b )", "Majority(a, b)")]
    [InlineData("OR(majority(*), home)", "OR(Majority(*), home)")]
    public void Majority_round_trips_through_the_canonical_form(string text, string canonical)
    {
        var policy = EndorsementPolicy.Parse(text);

        Assert.Equal(canonical, policy.ToString());
        Assert.Equal(policy, EndorsementPolicy.Parse(policy.ToString()));
    }

    [Theory]
    [InlineData("Majority()", "at least one")]
    [InlineData("Majority(a, b", "')' is missing")]
    [InlineData("Majority(a, a)", "names 'a' twice")]
    [InlineData("*", "inside a gate")]
    public void Malformed_majorities_are_refused(string text, string reason) =>
        Assert.Contains(reason, Assert.Throws<FormatException>(() => EndorsementPolicy.Parse(text)).Message);
}
