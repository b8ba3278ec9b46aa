namespace HealthEvents.Benchmarks;

/// <summary>
/// Whether projection lag drifts upward over a window, as a robust line through the whole window rather than a comparison
/// of two tails. The samples are reduced to one value per second (their median), and the Theil-Sen estimator fits
/// lag = <see cref="StartMs"/> + slope × t: the slope is the median of the slopes between every pair of seconds, the
/// start the median of each second's lag less slope × t (Sen 1968, "Estimates of the regression coefficient based on
/// Kendall's tau", JASA 63(324)). Up to 29% of the seconds can be arbitrarily bad without moving the line, so a few
/// slow seconds (a checkpoint, a busy neighbour) do not make a trend, while a lag that really grows moves the median of
/// every pair. The old figure compared the p99 of each tenth, which for ~230 samples is their third largest: noise.
/// </summary>
/// <param name="StartMs">The fitted lag at the window's start, ms.</param>
/// <param name="GrowthMs">The fitted lag's growth over the whole window (slope × window), ms; negative when it falls.</param>
/// <param name="Seconds">Seconds with a sample, the points the line was fitted to.</param>
public sealed record LagTrend(double StartMs, double GrowthMs, int Seconds)
{
    /// <summary>The fitted lag at the window's end against its start (1 = flat); NaN when the start is not positive.</summary>
    public double Ratio => StartMs <= 0 ? double.NaN : (StartMs + GrowthMs) / StartMs;

    /// <summary>Fits the line to <paramref name="samples"/> (seconds into the window, lag ms) over a window of <paramref name="windowSeconds"/>.</summary>
    public static LagTrend Fit(IReadOnlyCollection<(double At, double LagMs)> samples, double windowSeconds)
    {
        var points = samples.GroupBy(s => Math.Floor(s.At))
            .Select(g => (T: g.Key + 0.5, Lag: Median([.. g.Select(s => s.LagMs)])))
            .OrderBy(p => p.T).ToArray();
        if (points.Length < 2) return new(double.NaN, double.NaN, points.Length);
        var slopes = new List<double>(points.Length * (points.Length - 1) / 2);
        for (var i = 0; i < points.Length; i++)
            for (var j = i + 1; j < points.Length; j++)
                slopes.Add((points[j].Lag - points[i].Lag) / (points[j].T - points[i].T));
        var slope = Median(slopes);
        var start = Median([.. points.Select(p => p.Lag - slope * p.T)]);
        return new(start, slope * windowSeconds, points.Length);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
