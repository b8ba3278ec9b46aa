using System.CommandLine;
using HealthEvents.Api.Verbs.Progress;
using HealthEvents.Projections.Ledger;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// `rebuild [PROJECTION ...]`: replays the whole history into the named read views (all when none is named), one
/// step each; other views are untouched, and a service serving meanwhile hands the view over and takes it back.
/// </summary>
public static class RebuildVerb
{
    private static readonly string[] BuiltIn =
        [AuditProjection.ProjectionName, ConsentProjection.ProjectionName, InsuranceProjection.ProjectionName, LedgerProjection.ProjectionName];

    public static Command Create(Option<string?> data)
    {
        var projections = new Argument<string[]>("projection")
        {
            Description = $"Read views to rebuild, all when none is named: {string.Join(", ", BuiltIn)}, and research projections by their declared names",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("rebuild", "Rebuild read views from the whole history, with progress") { projections };
        command.SetAction((parsed, ct) => VerbHost.RunAsync(DataOption.Settings(parsed, data),
            services => RebuildAsync(services.GetRequiredService<ProjectionRebuilder>(), parsed.GetValue(projections) ?? [], ct)));
        return command.WithExitCodes(
            ExitCodes.OkLine,
            (ExitCodes.Usage, "wrong command line, or a projection name nobody declared (the known names are listed)"),
            ExitCodes.FailedLine, ExitCodes.InterruptedLine);
    }

    private static async Task<int> RebuildAsync(ProjectionRebuilder rebuilder, string[] named, CancellationToken ct)
    {
        await rebuilder.RefreshAsync(ct); // research projections are declared in the store, not in code
        var names = named.Length > 0 ? named : [.. rebuilder.ProjectionNames];
        var unknown = names.Except(rebuilder.ProjectionNames, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"Unknown projection(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", rebuilder.ProjectionNames.Order(StringComparer.Ordinal))}.");
            return ExitCodes.Usage;
        }
        return await StepProgress.RunAsync(async progress =>
        {
            foreach (var name in names)
            {
                var step = progress.Begin(name);
                var done = await rebuilder.RebuildAsync(name, new InlineProgress<RebuildProgress>(p => step.Report(p.EventsDone, p.EventsTotal, Detail(p))), ct);
                step.Complete($"rebuilt from {done.EventsDone:N0} events in {done.Elapsed.TotalSeconds:N1} s ({done.EventsPerSecond:N0} events/s)");
            }
            return ExitCodes.Ok;
        });
    }

    private static string Detail(RebuildProgress p) => p.Phase switch
    {
        RebuildPhase.WaitingForLock => "waiting for the view's lock (a serving node hands it over)",
        RebuildPhase.Resetting => "clearing the view",
        _ => $"{p.EventsDone:N0}/{p.EventsTotal?.ToString("N0") ?? "?"} events, {p.EventsPerSecond:N0}/s",
    };
}
