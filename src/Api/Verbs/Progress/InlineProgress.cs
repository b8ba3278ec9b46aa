namespace HealthEvents.Api.Verbs.Progress;

/// <summary>
/// Reports on the caller's thread, in order. (<see cref="Progress{T}"/> posts each report to the thread pool, so a
/// late one could overwrite a step's completed line.)
/// </summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
