namespace HealthEvents.Benchmarks;

/// <summary>Nearest-rank percentiles (the smallest value with at least p of the values at or below it).</summary>
public static class Percentiles
{
    /// <summary>The <paramref name="p"/> (0..1) percentile of <paramref name="values"/>; NaN when there are none.</summary>
    public static double Of(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
