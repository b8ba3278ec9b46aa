using HealthEvents.Domain.Common;
using HealthEvents.Domain.Research;
using HealthEvents.Projections.Research;

namespace HealthEvents.Projections.Tests.Research;

/// <summary>k-anonymity of the rows: primary and complementary suppression, and what counts, on small cohorts.</summary>
public sealed class ResearchTableTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static ResearchDefinition Definition(int k, params ResearchDimension[] groupBy) => new(new ResearchProjectionDeclared(
        "t", "researcher-1", "Org", new ResearchFilter([], [], null, null), groupBy, k, Now));

    private static ResearchSubject Subject(string id, Sex sex, int birthYear, params ResearchEntryFact[] entries) => new()
    {
        Id = "p/" + id, Projection = "p", Sex = sex, BirthYear = birthYear,
        Consents = [new ResearchConsentWindow { Key = "c-" + id, Categories = [Category.Conditions, Category.LabResults], ValidFrom = Now.AddYears(-1) }],
        Entries = [.. entries],
    };

    private static ResearchEntryFact Entry(Category category = Category.Conditions, string hospital = "h1") =>
        new() { Key = Guid.NewGuid().ToString("N"), Category = category, Hospital = hospital };

    /// <summary>Every line (cells agreeing on all dimensions but one, and the whole table) has zero or at least two suppressed cells.</summary>
    private static void AssertNoLineGivesACellAway(IReadOnlyList<string[]> keys, bool[] suppressed, bool totalPublished)
    {
        var dimensions = keys.Count > 0 ? keys[0].Length : 0;
        for (var d = 0; d < dimensions; d++)
            foreach (var line in Enumerable.Range(0, keys.Count).GroupBy(i => string.Join('|', keys[i].Where((_, j) => j != d))).Where(g => g.Count() >= 2))
                Assert.NotEqual(1, line.Count(i => suppressed[i]));
        if (totalPublished && keys.Count >= 2) Assert.NotEqual(1, suppressed.Count(s => s));
    }

    [Fact]
    public void A_small_cell_is_suppressed_and_so_is_its_complement_in_a_one_dimensional_table()
    {
        // 7 women, 3 men, k = 5: the men are suppressed, and with a published total of 10 the women must be too.
        var suppressed = ResearchTable.Suppress([["female"], ["male"]], [7, 3], 5, totalPublished: true);
        Assert.Equal([true, true], suppressed);
        // Without a published total (fewer than k in all), only primary suppression applies, and it takes all.
        Assert.Equal([true, true], ResearchTable.Suppress([["female"], ["male"]], [2, 1], 5, totalPublished: false));
        // Nothing under k: nothing suppressed.
        Assert.Equal([false, false, false], ResearchTable.Suppress([["a"], ["b"], ["c"]], [5, 6, 9], 5, totalPublished: true));
        // Two small cells protect each other: the big ones stay.
        Assert.Equal([true, true, false], ResearchTable.Suppress([["a"], ["b"], ["c"]], [1, 2, 9], 5, totalPublished: true));
    }

    [Fact]
    public void Complementary_suppression_covers_rows_and_columns_of_a_two_dimensional_table()
    {
        string[][] keys = [["f", "40"], ["f", "50"], ["f", "60"], ["m", "40"], ["m", "50"], ["m", "60"]];
        int[] counts = [6, 9, 12, 2, 8, 11];
        var suppressed = ResearchTable.Suppress(keys, counts, 5, totalPublished: true);
        Assert.True(suppressed[3]); // m/40: 2 < 5
        Assert.True(suppressed[0]); // f/40: the only other cell of the 40 column
        Assert.Equal(4, suppressed.Count(s => s)); // and the smallest of each sex row: f/50 and m/50
        Assert.True(suppressed[1] && suppressed[4]);
        AssertNoLineGivesACellAway(keys, suppressed, true);
    }

    [Fact]
    public void Random_small_tables_never_leave_a_line_with_a_single_suppressed_cell()
    {
        var random = new Random(42);
        for (var round = 0; round < 300; round++)
        {
            var a = random.Next(1, 5);
            var b = random.Next(1, 5);
            var keys = new List<string[]>();
            var counts = new List<int>();
            for (var i = 0; i < a; i++)
            for (var j = 0; j < b; j++)
                if (random.NextDouble() < 0.85)
                {
                    keys.Add([$"x{i}", $"y{j}"]);
                    counts.Add(random.Next(1, 15));
                }
            var k = random.Next(2, 8);
            var suppressed = ResearchTable.Suppress(keys, counts, k, totalPublished: true);
            for (var i = 0; i < counts.Count; i++)
                if (counts[i] < k) Assert.True(suppressed[i]);
            AssertNoLineGivesACellAway(keys, suppressed, true);
        }
    }

    [Fact]
    public void Cells_count_distinct_patients_with_consents_in_force_and_categories_covered()
    {
        var definition = Definition(2, ResearchDimension.Hospital);
        var expired = Subject("e", Sex.Male, 1970, Entry());
        expired.Consents[0].ValidUntil = Now; // exclusive: not in force at Now
        var notYet = Subject("n", Sex.Male, 1970, Entry());
        notYet.Consents[0].ValidFrom = Now.AddDays(1);
        var uncovered = Subject("u", Sex.Female, 1970, Entry(Category.Medications));
        var twice = Subject("t", Sex.Female, 1980, Entry(), Entry(), Entry(Category.LabResults, "h2"));
        var once = Subject("o", Sex.Male, 1990, Entry(Category.LabResults, "h2"));
        var other = Subject("x", Sex.Male, 1990, Entry());

        var table = ResearchTable.Compute(definition, [expired, notYet, uncovered, twice, once, other], Now);

        // h1: "t" (two entries, one patient) and "x"; h2: "t" and "o". Three patients in all.
        Assert.Equal([("h1", 2, false), ("h2", 2, false)], table.Rows.Select(r => (r.Group["hospital"], r.Count, r.Suppressed)));
        Assert.Equal(new ResearchCount(3, false), table.Total);
        Assert.Equal(["p/o", "p/t", "p/x"], table.Contributors.Select(c => c.SubjectId).Order());
        Assert.Equal([Category.Conditions, Category.LabResults], table.Contributors.Single(c => c.SubjectId == "p/t").Categories.Order());
    }

    [Fact]
    public void Nothing_is_published_and_nobody_counted_when_the_total_is_under_k()
    {
        var table = ResearchTable.Compute(Definition(5, ResearchDimension.Sex),
            [Subject("a", Sex.Female, 1970, Entry()), Subject("b", Sex.Male, 1970, Entry())], Now);
        Assert.Equal(new ResearchCount(null, true), table.Total);
        Assert.All(table.Rows, r => Assert.True(r.Suppressed && r.Count is null));
        Assert.Empty(table.Contributors);
    }

    [Fact]
    public void Age_bands_are_ten_years_wide_at_the_reference_date_and_top_coded()
    {
        Assert.Equal("60-69", ResearchTable.AgeBand(64));
        Assert.Equal("0-9", ResearchTable.AgeBand(0));
        Assert.Equal("90+", ResearchTable.AgeBand(97));
        var definition = new ResearchDefinition(new ResearchProjectionDeclared("t", "r", "o",
            new ResearchFilter([], [], null, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)), [ResearchDimension.AgeBand], 2, Now));
        var table = ResearchTable.Compute(definition, [Subject("a", Sex.Female, 1961, Entry()), Subject("b", Sex.Male, 1965, Entry())], Now);
        Assert.Equal(["30-39"], table.Rows.Select(r => r.Group["age-band"])); // at 2000, not at Now
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), table.ReferenceDate);
    }
}
