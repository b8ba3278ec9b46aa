namespace HealthEvents.TestSupport;

/// <summary>
/// How long a test waits for something that must happen, on a machine that may be busy with other work (the suite is
/// run with both cores kept busy by stress-ng). A wait ends as soon as its condition holds, so a long deadline costs
/// nothing when things work; it only decides how long a broken run takes to say so. Never a measure of speed.
/// </summary>
public static class Patience
{
    public const int Seconds = 120;

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(Seconds);

    /// <summary>Waits for <paramref name="condition"/> (checked every 250 ms) up to <see cref="Deadline"/>; then fails with <paramref name="failure"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> failure)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > Deadline) Xunit.Assert.Fail(failure());
            await Task.Delay(250);
        }
    }
}
