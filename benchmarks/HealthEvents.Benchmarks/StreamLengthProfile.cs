namespace HealthEvents.Benchmarks;

/// <summary>
/// `profile --version N`: why a command on a long stream costs more than one on a short one. One client on a patient at
/// version 10 and one at version N (<see cref="CommandsBenchmark.ShortAndLongAsync"/>), each profiled by the service's
/// spans with one row per SQL statement, alternating in rounds so a busy spell of the shared machine hits both; then
/// every phase and statement side by side: milliseconds per command (the mean over every command, 0 where a command
/// had none) and the difference, largest first — the rows that grow with the stream.
/// </summary>
public static class StreamLengthProfile
{
    private const int Rounds = 2;

    public static async Task RunAsync(BenchService service, int version, TimeSpan duration, CancellationToken ct)
    {
        var (shortPatient, longPatient) = await CommandsBenchmark.ShortAndLongAsync(service, version, ct);
        var perCommand = new[] { new Dictionary<string, List<double>>(), new Dictionary<string, List<double>>() };
        for (var round = 0; round < Rounds; round++)
            foreach (var (patient, side) in new[] { (shortPatient, 0), (longPatient, 1) })
            {
                var (profile, rate) = await ProfileCommand.MeasureAsync(service, patient, duration / Rounds, statements: true, ct);
                Console.Error.WriteLine($"  round {round + 1}: version {(side == 0 ? 10 : version):N0}, {rate:N1} commands/s");
                var requests = Math.Max(1, profile.Requests);
                foreach (var p in profile.Phases)
                {
                    // The first row is the client's own latency, one per command; the rest are per request trace.
                    var mean = p.Commands == 0 ? 0 : p.MeanMs * p.Commands / (p.Name.StartsWith("client", StringComparison.Ordinal) ? p.Commands : requests);
                    (perCommand[side].TryGetValue(p.Name, out var list) ? list : perCommand[side][p.Name] = []).Add(mean);
                }
            }
        Console.WriteLine($"Per command, mean ms over every command ({Rounds} rounds each, {duration.TotalSeconds / Rounds:0.#} s per round; " +
                          $"{Environment.ProcessorCount} cores, load average {HttpMode.LoadAverage()}):");
        Console.WriteLine($"{"phase or statement",-84} {"v10",8} {$"v{version}",8} {"diff",8}");
        var rows = perCommand[0].Keys.Union(perCommand[1].Keys)
            .Select(name => (name, a: Mean(perCommand[0], name), b: Mean(perCommand[1], name)))
            .OrderByDescending(r => r.name.StartsWith("      sql", StringComparison.Ordinal) ? 0 : 1).ThenByDescending(r => r.b - r.a);
        foreach (var (name, a, b) in rows)
            Console.WriteLine($"{name,-84} {a,8:0.00} {b,8:0.00} {b - a,8:+0.00;-0.00}");
    }

    private static double Mean(Dictionary<string, List<double>> rows, string name) => rows.TryGetValue(name, out var v) ? v.Average() : 0;
}
