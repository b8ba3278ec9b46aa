using System.Globalization;

namespace HealthEvents.Api.Verbs.Import;

/// <summary>
/// What an import run did, written as plain text on standard output (the verb's result, the same on a terminal and in a
/// pipe): a totals line; each imported file with the patient id it registered or added to (the id the hospital uses
/// from then on); imported resources by type; skipped ones by type and reason; each failed file with every issue.
/// </summary>
/// <param name="Files">Bundles found at the path (more than <see cref="Outcomes"/> when the run was interrupted).</param>
/// <param name="Outcomes">One per bundle sent, by file name.</param>
public sealed record ImportReport(int Files, IReadOnlyList<FileOutcome> Outcomes)
{
    public static ImportReport Of(int files, IEnumerable<FileOutcome> outcomes) =>
        new(files, [.. outcomes.OrderBy(o => o.File, StringComparer.Ordinal)]);

    public IReadOnlyList<FileOutcome> Imported => [.. Outcomes.Where(o => o.Answer is not null)];

    public IReadOnlyList<FileOutcome> Failed => [.. Outcomes.Where(o => o.Failure is not null)];

    public void Write(TextWriter output)
    {
        var answers = Imported.Select(o => o.Answer!).ToList();
        var registered = answers.Count(a => a.Registered);
        output.WriteLine(
            $"{Files} bundle(s): {registered} patient(s) registered, {answers.Count - registered} already registered; " +
            $"{N(answers.Sum(a => a.Added))} resource(s) added, {N(answers.Sum(a => a.AlreadyPresent))} already present" +
            (answers.Sum(a => a.Corrected) is > 0 and var corrected ? $", {N(corrected)} corrected; " : "; ") +
            (Failed.Count == 0 ? "no failure." : $"{Failed.Count} failed.") +
            (Outcomes.Count < Files ? $" {Files - Outcomes.Count} not sent (interrupted)." : ""));

        Table(output, "Patients (file, patient id)", Imported.Select(o => (o.File,
            $"{o.Answer!.PatientId ?? "(not named in the answer)"}  {(o.Answer.Registered ? "registered" : "already registered")}, " +
            $"{N(o.Answer.Added)} added, {N(o.Answer.AlreadyPresent)} already present" + (o.Answer.Corrected > 0 ? $", {N(o.Answer.Corrected)} corrected" : ""))));
        Table(output, "Imported (resource type, count)", Sum(answers.Select(a => a.Imported)));
        Table(output, "Skipped (type or type and reason, count)", Sum(answers.Select(a => a.Skipped)));
        if (Failed.Count == 0) return;
        output.WriteLine();
        output.WriteLine("Failed:");
        foreach (var (file, _, failure) in Failed)
        {
            output.WriteLine($"  {file}: {failure!.Reason}");
            foreach (var issue in failure.Issues) output.WriteLine($"    {issue}");
        }
    }

    private static IEnumerable<(string, string)> Sum(IEnumerable<IReadOnlyDictionary<string, int>> counts) =>
        counts.SelectMany(c => c).GroupBy(p => p.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, N(g.Sum(p => p.Value))));

    /// <summary>A heading and two aligned columns; nothing when there is no row.</summary>
    private static void Table(TextWriter output, string heading, IEnumerable<(string Left, string Right)> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0) return;
        output.WriteLine();
        output.WriteLine(heading + ":");
        var width = list.Max(r => r.Left.Length);
        foreach (var (left, right) in list) output.WriteLine($"  {left.PadRight(width)}  {right}");
    }

    private static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
