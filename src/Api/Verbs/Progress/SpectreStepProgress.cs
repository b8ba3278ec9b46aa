using Spectre.Console;

namespace HealthEvents.Api.Verbs.Progress;

/// <summary>Progress on a terminal: one live Spectre.Console task per step (a bar when the total is known, else a pulse).</summary>
public sealed class SpectreStepProgress(ProgressContext context) : StepProgress
{
    public override Step Begin(string name, double? total = null)
    {
        var task = context.AddTask(Markup.Escape(name), autoStart: true, maxValue: total is > 0 ? total.Value : 1);
        task.IsIndeterminate = total is null;
        return new SpectreStep(task, name);
    }

    private sealed class SpectreStep(ProgressTask task, string name) : Step
    {
        public override void Report(double done, double? total, string detail)
        {
            if (total is > 0)
            {
                task.IsIndeterminate = false;
                task.MaxValue = Math.Max(total.Value, done);
                task.Value = done;
            }
            task.Description = $"{Markup.Escape(name)} [grey]{Markup.Escape(detail)}[/]";
        }

        public override void Complete(string summary)
        {
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.Description = $"{Markup.Escape(name)}: {Markup.Escape(summary)}";
            task.StopTask();
        }
    }
}
