using Spectre.Console;

namespace HealthEvents.Api.Verbs.Progress;

/// <summary>
/// How a long verb (verify, rebuild) shows where it is, on standard error so that standard output keeps only its
/// result: live bars on a terminal (Spectre.Console), else one plain line as each step ends — and, for a step that
/// runs long, a line every <see cref="PlainStepProgress.Heartbeat"/> so a log shows it is alive.
/// </summary>
public abstract class StepProgress
{
    /// <summary>Begins a step; <paramref name="total"/> is its amount of work when known (events, say).</summary>
    public abstract Step Begin(string name, double? total = null);

    /// <summary>Runs <paramref name="work"/> with the display that suits standard error: a terminal, or a pipe or file.</summary>
    public static Task<T> RunAsync<T>(Func<StepProgress, Task<T>> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // Spectre also turns interactivity off in CI and on TERM=dumb; a redirected stream is never a terminal.
        if (Console.IsErrorRedirected || !console.Profile.Capabilities.Interactive)
            return work(new PlainStepProgress(Console.Error, TimeProvider.System));
        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(context => work(new SpectreStepProgress(context)));
    }

    /// <summary>One step: reported as it goes, completed once with a one-line summary.</summary>
    public abstract class Step
    {
        /// <param name="done">Work done so far, in the unit of the step's total.</param>
        /// <param name="total">The total when it became known or grew (events appended meanwhile), else null.</param>
        /// <param name="detail">A short status: "12,000 events in 300 streams, 8,000/s".</param>
        public abstract void Report(double done, double? total, string detail);

        public abstract void Complete(string summary);
    }
}
