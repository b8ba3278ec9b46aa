using HealthEvents.Domain.Research;
using ResearchSpec = HealthEvents.Domain.Tests.Spec<
    HealthEvents.Domain.Research.ResearchDecider,
    HealthEvents.Domain.Research.ResearchState,
    HealthEvents.Domain.Research.IResearchCommand,
    HealthEvents.Domain.Research.IResearchEvent>;

namespace HealthEvents.Domain.Tests.Research;

public class ResearchDeciderTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly Actor Researcher = new("researcher-1", Role.Researcher, "lakeside");
    private static readonly Actor OtherResearcher = new("researcher-2", Role.Researcher, "lakeside");
    private static readonly ResearchFilter Diabetes = new(
        [Category.Conditions], [new ResearchCode("http://hl7.org/fhir/sid/icd-10", "E11")], null, Now);
    private static readonly ResearchDimension[] BySexAndAge = [ResearchDimension.Sex, ResearchDimension.AgeBand];

    private static DeclareResearchProjection Declare(string name = "diabetes", int k = 5, Actor? actor = null, string? organisation = "Lakeside University",
        ResearchFilter? filter = null, IReadOnlyList<ResearchDimension>? groupBy = null) =>
        new(name, filter ?? Diabetes, groupBy ?? BySexAndAge, k, organisation, actor ?? Researcher, Now);

    private static readonly ResearchProjectionDeclared Declared =
        new("diabetes", "researcher-1", "Lakeside University", Diabetes, BySexAndAge, 5, Now);

    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");
    private static readonly Guid Bob = Guid.Parse("b0b00000-0000-4000-8000-000000000002");
    private static readonly Guid Consent = Guid.Parse("c0000000-0000-4000-8000-000000000001");
    private static readonly Guid Publication = Guid.Parse("90000000-0000-4000-8000-000000000001");

    private static ResearchUse Use(Guid patient) => new(patient, [Category.Conditions], [Consent]);

    [Fact]
    public void A_registered_researcher_declares_a_projection() =>
        ResearchSpec.Given()
            .When(Declare())
            .Then(Declared);

    [Fact]
    public void Names_are_unique() =>
        ResearchSpec.Given(Declared).When(Declare(actor: OtherResearcher)).ThenFails(RejectionKind.Conflict, "research-projection-exists");

    [Fact]
    public void Only_researchers_declare() =>
        ResearchSpec.Given().When(Declare(actor: new Actor("dr-a", Role.Physician, "northside"))).ThenFails(RejectionKind.Forbidden, "researcher-required");

    [Fact]
    public void Only_registered_researchers_declare() =>
        ResearchSpec.Given().When(Declare(organisation: null)).ThenFails(RejectionKind.Forbidden, "researcher-not-registered");

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(1001)]
    public void K_is_at_least_two(int k) =>
        ResearchSpec.Given().When(Declare(k: k)).ThenFails(RejectionKind.Invalid, "k-out-of-range");

    [Theory]
    [InlineData("ab")]
    [InlineData("Diabetes")]
    [InlineData("1st")]
    [InlineData("with space")]
    public void Names_are_lowercase_slugs(string name) =>
        ResearchSpec.Given().When(Declare(name: name)).ThenFails(RejectionKind.Invalid, "name-invalid");

    [Fact]
    public void A_dimension_is_grouped_by_once() =>
        ResearchSpec.Given().When(Declare(groupBy: [ResearchDimension.Sex, ResearchDimension.Sex])).ThenFails(RejectionKind.Invalid, "group-by-invalid");

    [Fact]
    public void The_time_window_ends_after_it_starts() =>
        ResearchSpec.Given().When(Declare(filter: Diabetes with { From = Now, To = Now })).ThenFails(RejectionKind.Invalid, "time-window-invalid");

    [Fact]
    public void A_publication_records_the_patients_it_counted() =>
        ResearchSpec.Given(Declared)
            .When(new PublishResearchResults("diabetes", Publication, "digest-1", [Use(Alice), Use(Bob)], Researcher, Now))
            .Then(new ResearchResultsPublished("diabetes", Publication, "researcher-1", "digest-1", 1, 1, [Use(Alice), Use(Bob)], Now));

    [Fact]
    public void The_same_result_served_again_is_the_same_publication() =>
        ResearchSpec.Given(Declared, new ResearchResultsPublished("diabetes", Publication, "researcher-1", "digest-1", 1, 1, [Use(Alice)], Now))
            .When(new PublishResearchResults("diabetes", Guid.NewGuid(), "digest-1", [Use(Alice)], Researcher, Now.AddMinutes(1)))
            .Then();

    [Fact]
    public void A_changed_result_is_a_new_publication() =>
        ResearchSpec.Given(Declared, new ResearchResultsPublished("diabetes", Publication, "researcher-1", "digest-1", 1, 1, [Use(Alice)], Now))
            .When(new PublishResearchResults("diabetes", Publication, "digest-2", [Use(Alice)], Researcher, Now))
            .Then(new ResearchResultsPublished("diabetes", Publication, "researcher-1", "digest-2", 1, 1, [Use(Alice)], Now));

    [Fact]
    public void Only_the_declaring_researcher_publishes() =>
        ResearchSpec.Given(Declared)
            .When(new PublishResearchResults("diabetes", Publication, "digest-1", [Use(Alice)], OtherResearcher, Now))
            .ThenFails(RejectionKind.Forbidden, "not-the-researcher");

    [Fact]
    public void Publishing_an_unknown_projection_is_not_found() =>
        ResearchSpec.Given()
            .When(new PublishResearchResults("diabetes", Publication, "digest-1", [Use(Alice)], Researcher, Now))
            .ThenFails(RejectionKind.NotFound, "research-projection-not-found");

    [Fact]
    public void A_large_publication_is_split_over_events_of_one_transaction()
    {
        var uses = Enumerable.Range(1, ResearchDecider.UsesPerEvent + 1).Select(i => Use(new Guid(i, 0, 0, new byte[8]))).ToList();
        var events = ResearchDecider.Decide(new PublishResearchResults("diabetes", Publication, "digest-1", uses, Researcher, Now),
            ResearchSpec.Fold(Declared));
        Assert.Equal([(1, 2, ResearchDecider.UsesPerEvent), (2, 2, 1)],
            events.Cast<ResearchResultsPublished>().Select(e => (e.Part, e.Parts, e.Uses.Count)));
    }
}
