using System.Diagnostics;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Open-loop load: commands start on a fixed schedule (<c>rate</c> per second) whether or not earlier ones have been
/// answered, as independent clinical systems send them. Each command's latency runs from its scheduled start, so time a
/// command spends waiting behind a slow one counts (no coordinated omission). Each command goes to a patient with no
/// command in flight (a pool of them), so commands measure the service, not one stream's queue.
/// </summary>
public static class OpenLoop
{
    /// <summary>Commands answered, the rate asked and achieved (per second), latencies in ms, and commands that failed.</summary>
    public sealed record Result(double AskedPerSecond, long Answered, long Failed, double Seconds, double P50Ms, double P99Ms)
    {
        public double AnsweredPerSecond => Answered / Seconds;
    }

    /// <param name="progress">Called about once a second with the time elapsed and commands answered so far.</param>
    public static async Task<Result> RunAsync(BenchService service, Guid[] patients, double rate, TimeSpan duration,
        Action<TimeSpan, long>? progress, CancellationToken ct)
    {
        var free = new Queue<Guid>(patients);
        var freed = new SemaphoreSlim(patients.Length);
        var latencies = new List<double>();
        long failed = 0;
        var running = new List<Task>();
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1 / rate);
        var nextReport = TimeSpan.FromSeconds(1);
        for (long i = 0; ; i++)
        {
            var scheduled = interval * i;
            if (scheduled >= duration || ct.IsCancellationRequested) break;
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            if (clock.Elapsed >= nextReport)
            {
                lock (latencies) progress?.Invoke(clock.Elapsed, latencies.Count);
                nextReport += TimeSpan.FromSeconds(1);
            }
            running.Add(OneAsync(scheduled));
            if (running.Count > 4096) running.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(running);
        return new(rate, latencies.Count, failed, duration.TotalSeconds, Percentiles.Of(latencies, 0.50), Percentiles.Of(latencies, 0.99));

        async Task OneAsync(TimeSpan scheduled)
        {
            await freed.WaitAsync(ct);
            Guid patient;
            lock (free) patient = free.Dequeue();
            try
            {
                await service.AddEntryAsync(patient, ct);
                var ms = (clock.Elapsed - scheduled).TotalMilliseconds;
                lock (latencies) latencies.Add(ms);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Increment(ref failed);
            }
            finally
            {
                lock (free) free.Enqueue(patient);
                freed.Release();
            }
        }
    }
}
