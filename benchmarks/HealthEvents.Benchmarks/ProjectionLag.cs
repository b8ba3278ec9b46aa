using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Projections.Runner;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Projection lag under load, sampled: every <see cref="Every"/> the newest event in the store is noted with the time,
/// and the time until every projection has applied it (<see cref="ProjectionRunner.WaitForAsync(GlobalPosition, TimeSpan, CancellationToken)"/>)
/// is one sample. An event may have been stored a little before it was seen as the newest, so a sample can be short by
/// up to the store read's own time (about a millisecond); never longer.
/// </summary>
public sealed class ProjectionLag
{
    public static readonly TimeSpan Every = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan GiveUp = TimeSpan.FromMinutes(2);

    private readonly List<(double At, double LagMs)> _samples = [];

    /// <summary>p50/p99 of every sample, and p99 of those taken in the first and in the last tenth of the window (the trend).</summary>
    public sealed record Result(int Samples, double P50Ms, double P99Ms, double FirstTenthP99Ms, double LastTenthP99Ms, int TimedOut);

    /// <summary>Samples until <paramref name="ct"/> is cancelled; then waits for the samples under way and summarises.</summary>
    public static async Task<Result> SampleAsync(BenchService service, CancellationToken stop, CancellationToken ct)
    {
        var lag = new ProjectionLag();
        var runner = service.Services.GetRequiredService<ProjectionRunner>();
        await using var db = NpgsqlDataSource.Create(service.PostgresConnectionString);
        var clock = Stopwatch.StartNew();
        var waits = new List<Task>();
        var timedOut = 0;
        while (!stop.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            var seen = clock.Elapsed;
            if (await NewestAsync(db, ct) is { } position)
                waits.Add(Task.Run(async () =>
                {
                    if (await runner.WaitForAsync(position, GiveUp, ct))
                        lock (lag._samples) lag._samples.Add((seen.TotalSeconds, (clock.Elapsed - seen).TotalMilliseconds));
                    else Interlocked.Increment(ref timedOut);
                }, ct));
            try { await Task.Delay(Every, stop); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        }
        await Task.WhenAll(waits);
        return lag.Summarise(clock.Elapsed.TotalSeconds, timedOut);
    }

    private Result Summarise(double seconds, int timedOut)
    {
        var first = _samples.Where(s => s.At < seconds / 10).Select(s => s.LagMs).ToList();
        var last = _samples.Where(s => s.At >= seconds * 9 / 10).Select(s => s.LagMs).ToList();
        var all = _samples.Select(s => s.LagMs).ToList();
        return new(all.Count, Percentiles.Of(all, 0.50), Percentiles.Of(all, 0.99), Percentiles.Of(first, 0.99), Percentiles.Of(last, 0.99), timedOut);
    }

    private static async Task<GlobalPosition?> NewestAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT transaction_id, position FROM he_events ORDER BY transaction_id DESC, position DESC LIMIT 1");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new GlobalPosition(r.GetFieldValue<ulong>(0), (ulong)r.GetInt64(1)) : null;
    }
}
