using System.Text;

namespace HealthEvents.Benchmarks;

/// <summary>
/// The one table of `all`: each of issue 13's goals (point 7) with what was measured, its baseline from the same run, the
/// ratio, the goal and the verdict. Printed as text and written as markdown (a README section pastes it).
/// </summary>
public sealed class GoalTable
{
    /// <summary>One goal. <paramref name="Met"/> is null when it has no figure to meet (information) or was not measured.</summary>
    public sealed record Row(string Goal, string Measured, string Baseline, string Ratio, string Target, bool? Met);

    private readonly List<Row> _rows = [];

    public IReadOnlyList<Row> Rows => _rows;

    public void Add(string goal, string measured, string baseline, string ratio, string target, bool? met) =>
        _rows.Add(new(goal, measured, baseline, ratio, target, met));

    private static string Verdict(bool? met) => met switch { true => "met", false => "NOT met", null => "-" };

    /// <summary>The table as fixed-width text for a terminal.</summary>
    public string ToText()
    {
        string[] header = ["goal", "measured", "baseline (same run)", "ratio", "goal", "verdict"];
        var cells = _rows.Select(r => new[] { r.Goal, r.Measured, r.Baseline, r.Ratio, r.Target, Verdict(r.Met) }).Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(i => cells.Max(c => c[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var (row, index) in cells.Select((c, i) => (c, i)))
        {
            text.AppendLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            if (index == 0) text.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        }
        return text.ToString();
    }

    /// <summary>The table as a GitHub-flavoured markdown table, with <paramref name="preamble"/> lines above it.</summary>
    public string ToMarkdown(IEnumerable<string> preamble)
    {
        var md = new StringBuilder();
        foreach (var line in preamble) md.AppendLine(line).AppendLine(); // a paragraph each: markdown joins adjacent lines
        md.AppendLine("| goal | measured | baseline (same run) | ratio | goal | verdict |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in _rows)
            md.AppendLine($"| {Escape(r.Goal)} | {Escape(r.Measured)} | {Escape(r.Baseline)} | {Escape(r.Ratio)} | {Escape(r.Target)} | {Verdict(r.Met)} |");
        return md.ToString();
    }

    private static string Escape(string cell) => cell.Replace("|", "\\|");
}
