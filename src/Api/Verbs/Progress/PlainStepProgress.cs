namespace HealthEvents.Api.Verbs.Progress;

/// <summary>
/// Progress for a log or a pipe: "name: summary" as each step completes; while a step runs, at most one
/// "name: detail" line per <see cref="Heartbeat"/>. Never a carriage return or an escape sequence.
/// </summary>
public sealed class PlainStepProgress(TextWriter output, TimeProvider time) : StepProgress
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);

    public override Step Begin(string name, double? total = null) => new PlainStep(this, name, time.GetTimestamp());

    private void Line(string text)
    {
        lock (output) output.WriteLine(text);
    }

    private bool Due(long since) => time.GetElapsedTime(since) >= Heartbeat;

    private long Now => time.GetTimestamp();

    private sealed class PlainStep(PlainStepProgress owner, string name, long started) : Step
    {
        private long _lastLine = started;

        public override void Report(double done, double? total, string detail)
        {
            if (!owner.Due(_lastLine)) return;
            _lastLine = owner.Now;
            owner.Line($"{name}: {detail}");
        }

        public override void Complete(string summary) => owner.Line($"{name}: {summary}");
    }
}
