using HealthEvents.Domain.Common;
using HealthEvents.Domain.Research;

namespace HealthEvents.Projections.Research;

/// <summary>One published cell: its group (dimension name to value), and its patient count unless suppressed.</summary>
public sealed record ResearchCell(IReadOnlyDictionary<string, string> Group, int? Count, bool Suppressed);

/// <summary>A published number: null and suppressed when it could single out fewer than k patients.</summary>
public sealed record ResearchCount(int? Count, bool Suppressed);

/// <summary>A subject counted in the result: which of its categories counted, under which of its consent windows.</summary>
public sealed record ResearchContribution(string SubjectId, IReadOnlySet<Category> Categories, IReadOnlySet<string> ConsentKeys);

/// <summary>
/// The rows of a research projection, computed at read time from its subjects: counts of distinct patients per group,
/// k-anonymised. <see cref="Contributors"/> are the patients the published numbers count (empty when nothing is published).
/// </summary>
public sealed record ResearchTableResult(
    IReadOnlyList<ResearchCell> Rows, ResearchCount Total, DateTimeOffset ReferenceDate, IReadOnlyList<ResearchContribution> Contributors);

public static class ResearchTable
{
    public const string NoValue = "unknown";

    /// <summary>
    /// Counts, for each group, the distinct patients with at least one counted entry in it. An entry counts when a consent
    /// window of its patient is in force at <paramref name="now"/> and covers its category. Then suppression (see
    /// <see cref="Suppress"/>). Age bands are computed at the time window's end, or at <paramref name="now"/> without one.
    /// </summary>
    public static ResearchTableResult Compute(ResearchDefinition definition, IEnumerable<ResearchSubject> subjects, DateTimeOffset now)
    {
        var reference = definition.Filter.To ?? now;
        var dimensions = definition.GroupBy;
        var cells = new Dictionary<string, (string[] Key, HashSet<string> Subjects)>(StringComparer.Ordinal);
        var contributions = new List<ResearchContribution>();
        foreach (var s in subjects)
        {
            var windows = s.Consents.Where(c => c.IsActiveAt(now)).ToList();
            if (windows.Count == 0) continue;
            var covered = windows.SelectMany(w => w.Categories).ToHashSet();
            var counted = s.Entries.Where(e => covered.Contains(e.Category)).ToList();
            if (counted.Count == 0) continue;
            foreach (var entry in counted)
            {
                var key = dimensions.Select(d => ValueOf(d, s, entry, reference)).ToArray();
                var id = string.Join('\u001f', key);
                if (!cells.TryGetValue(id, out var cell)) cells[id] = cell = (key, new HashSet<string>(StringComparer.Ordinal));
                cell.Subjects.Add(s.Id);
            }
            var categories = counted.Select(e => e.Category).ToHashSet();
            contributions.Add(new ResearchContribution(s.Id, categories,
                windows.Where(w => w.Categories.Any(categories.Contains)).Select(w => w.Key).ToHashSet(StringComparer.Ordinal)));
        }

        var ordered = cells.Values.OrderBy(c => c.Key, KeyComparer.Instance).ToList();
        var counts = ordered.Select(c => c.Subjects.Count).ToList();
        var total = contributions.Count;
        var totalPublished = total >= definition.K;
        var suppressed = Suppress(ordered.Select(c => c.Key).ToList(), counts, definition.K, totalPublished);
        var names = dimensions.Select(d => Domain.Common.KebabCase.Of(d)).ToArray();
        var rows = ordered.Select((c, i) => new ResearchCell(
            names.Select((n, j) => (n, c.Key[j])).ToDictionary(x => x.n, x => x.Item2, StringComparer.Ordinal),
            suppressed[i] ? null : counts[i], suppressed[i])).ToList();
        return new ResearchTableResult(rows, new ResearchCount(totalPublished ? total : null, !totalPublished), reference,
            totalPublished ? contributions : []);
    }

    /// <summary>
    /// Primary suppression: every cell under <paramref name="k"/>. Complementary suppression: along every dimension, the
    /// cells that agree on all other dimensions form a line (its sum is what a coarser table would show); so does the
    /// whole table when the total is published. A line with exactly one suppressed cell would give that cell away by
    /// subtraction, so its smallest unsuppressed cell is suppressed too — repeated until no line has exactly one.
    /// </summary>
    public static bool[] Suppress(IReadOnlyList<string[]> keys, IReadOnlyList<int> counts, int k, bool totalPublished)
    {
        var suppressed = counts.Select(c => c < k).ToArray();
        var lines = new List<int[]>();
        var dimensions = keys.Count > 0 ? keys[0].Length : 0;
        for (var d = 0; d < dimensions; d++)
        {
            var dimension = d;
            lines.AddRange(Enumerable.Range(0, keys.Count)
                .GroupBy(i => string.Join('\u001f', keys[i].Where((_, j) => j != dimension)), StringComparer.Ordinal)
                .Select(g => g.ToArray())
                .Where(line => line.Length >= 2));
        }
        if (totalPublished && keys.Count >= 2) lines.Add([.. Enumerable.Range(0, keys.Count)]);

        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var line in lines)
            {
                if (line.Count(i => suppressed[i]) != 1) continue;
                var next = line.Where(i => !suppressed[i]).OrderBy(i => counts[i]).ThenBy(i => i).First();
                suppressed[next] = true;
                changed = true;
            }
        }
        return suppressed;
    }

    private static string ValueOf(ResearchDimension d, ResearchSubject s, ResearchEntryFact e, DateTimeOffset reference) => d switch
    {
        ResearchDimension.AgeBand => s.BirthYear is { } born ? AgeBand(reference.UtcDateTime.Year - born) : NoValue,
        ResearchDimension.Sex => s.Sex is { } sex ? Domain.Common.KebabCase.Of(sex) : NoValue,
        ResearchDimension.Code => e.CodeSystem is null || e.Code is null ? NoValue : $"{e.CodeSystem}|{e.Code}",
        ResearchDimension.EntryYear => e.Year?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? NoValue,
        ResearchDimension.Hospital => e.Hospital ?? NoValue,
        _ => NoValue,
    };

    /// <summary>10-year bands ("40-49"), top-coded at "90+" (the oldest are few, so they are easy to single out).</summary>
    public static string AgeBand(int age)
    {
        if (age >= 90) return "90+";
        var low = Math.Max(0, age) / 10 * 10;
        return $"{low}-{low + 9}";
    }

    /// <summary>Orders keys value by value, numbers by their value ("9" before "10"), so rows come out in a readable order.</summary>
    private sealed class KeyComparer : IComparer<string[]>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(string[]? x, string[]? y)
        {
            for (var i = 0; i < Math.Min(x!.Length, y!.Length); i++)
            {
                var c = int.TryParse(x[i].Split('-', '+')[0], out var a) && int.TryParse(y[i].Split('-', '+')[0], out var b)
                    ? a.CompareTo(b)
                    : string.CompareOrdinal(x[i], y[i]);
                if (c != 0) return c;
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}
