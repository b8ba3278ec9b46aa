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

    /// <summary>
    /// p50/p99 of every sample; the trend (<see cref="LagTrend"/>) fitted to the whole window; and, kept next to it so the
    /// goal is seen not to have moved, the old trend figure: p99 of the samples in the first and in the last tenth.
    /// </summary>
    public sealed record Result(int Samples, double P50Ms, double P99Ms, LagTrend Trend, double FirstTenthP99Ms, double LastTenthP99Ms, int TimedOut);

    /// <summary>
    /// Samples until <paramref name="stop"/> is cancelled; then waits for the samples under way and summarises. Every
    /// <see cref="ReportEvery"/> of the window (a minute; a tenth of windows under ten minutes) the p50/p99 of the period
    /// before goes to <paramref name="report"/>, so a drift shows while it happens.
    /// </summary>
    public static async Task<Result> SampleAsync(BenchService service, TimeSpan window, Action<string> report, CancellationToken stop, CancellationToken ct)
    {
        var lag = new ProjectionLag();
        var runner = service.Services.GetRequiredService<ProjectionRunner>();
        await using var db = NpgsqlDataSource.Create(service.PostgresConnectionString);
        var clock = Stopwatch.StartNew();
        var waits = new List<Task>();
        var timedOut = 0;
        var period = ReportEvery(window);
        var reported = 0; // periods reported so far
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
            // A period is reported a few seconds after it ends, when the samples taken in it have all come back.
            if (clock.Elapsed >= period * (reported + 1) + TimeSpan.FromSeconds(5)) report(lag.Period(period, reported++));
            try { await Task.Delay(Every, stop); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        }
        await Task.WhenAll(waits);
        // The last period, cut short when the load stopped: reported when it has samples.
        while (reported * period < clock.Elapsed && lag._samples.Any(x => x.At >= (period * reported).TotalSeconds)) report(lag.Period(period, reported++));
        return lag.Summarise(clock.Elapsed.TotalSeconds, timedOut);
    }

    /// <summary>A minute, or a tenth of a window shorter than ten minutes.</summary>
    public static TimeSpan ReportEvery(TimeSpan window) => window >= TimeSpan.FromMinutes(10) ? TimeSpan.FromMinutes(1) : window / 10;

    private string Period(TimeSpan period, int index)
    {
        List<double> lags;
        lock (_samples)
            lags = [.. _samples.Where(s => s.At >= (period * index).TotalSeconds && s.At < (period * (index + 1)).TotalSeconds).Select(s => s.LagMs)];
        var (from, to) = (period * index, period * (index + 1));
        if (lags.Count == 0) return $"  lag {from:mm\\:ss}-{to:mm\\:ss}: no samples came back";
        return $"  lag {from:mm\\:ss}-{to:mm\\:ss}: p50 {Percentiles.Of(lags, 0.50):0} ms, p99 {Percentiles.Of(lags, 0.99):0} ms ({lags.Count} samples)";
    }

    private Result Summarise(double seconds, int timedOut)
    {
        var first = _samples.Where(s => s.At < seconds / 10).Select(s => s.LagMs).ToList();
        var last = _samples.Where(s => s.At >= seconds * 9 / 10).Select(s => s.LagMs).ToList();
        var all = _samples.Select(s => s.LagMs).ToList();
        return new(all.Count, Percentiles.Of(all, 0.50), Percentiles.Of(all, 0.99), LagTrend.Fit(_samples, seconds),
            Percentiles.Of(first, 0.99), Percentiles.Of(last, 0.99), timedOut);
    }

    private static async Task<GlobalPosition?> NewestAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT transaction_id, position FROM he_events ORDER BY transaction_id DESC, position DESC LIMIT 1");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new GlobalPosition(r.GetFieldValue<ulong>(0), (ulong)r.GetInt64(1)) : null;
    }
}
