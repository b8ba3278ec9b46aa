using System.CommandLine;
using System.Diagnostics;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `profile`: where one client's command spends its time. The service as ./run.sh starts it (<see cref="BenchService"/>);
/// one closed-loop client adds record entries to its own patient over HTTP while a <see cref="SpanProfile"/> catches the
/// service's spans; prints the per-phase breakdown (p50/p99/mean per command).
/// </summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var (duration, quick) = (BenchCli.Duration(20), BenchCli.Quick("5 s"));
        var version = new Option<int?>("--version")
        {
            Description = "Profile a patient at version 10 and one at this version (written straight to the store), one after the other, " +
                          "and compare them phase by phase and statement by statement",
            HelpName = "N",
        };
        // Parsed as every other count is: 0 or 20 is a wrong command line (exit 2), not a silent 21.
        version.CustomParser = r =>
        {
            if (int.TryParse(r.Tokens[0].Value.Replace("_", "").Replace(",", ""), out var n) && n >= 21) return n;
            r.AddError("--version takes a whole number of at least 21.");
            return null;
        };
        var command = new Command("profile", "One client's commands over HTTP, broken down by the service's own spans (decide, endorse, append)") { duration, quick, version };
        command.SetAction(async (p, ct) =>
        {
            await using var service = await BenchService.StartAsync("bench-profile", null, ct);
            await Api.Fhir.FhirValidation.Shared.WarmAsync().WaitAsync(ct); // not measured: compiling the validators keeps a core busy
            if (p.GetValue(version) is { } n)
            {
                await StreamLengthProfile.RunAsync(service, n, BenchCli.Seconds(p, duration, quick, 5), ct);
                return 0;
            }
            var (result, rate) = await MeasureAsync(service, BenchCli.Seconds(p, duration, quick, 5), ct);
            Console.WriteLine($"One client, {rate:N0} commands/s, {Environment.ProcessorCount} cores, load average {HttpMode.LoadAverage()}:");
            SpanProfile.Print(result, Console.Out);
            return 0;
        });
        return command;
    }

    /// <summary>One client on a new patient for <paramref name="duration"/> (after 2 s unmeasured), profiled; and its commands/s.</summary>
    public static async Task<(SpanProfile.Result Profile, double CommandsPerSecond)> MeasureAsync(BenchService service, TimeSpan duration, CancellationToken ct) =>
        await MeasureAsync(service, (await service.RegisterPatientsAsync(1, ct))[0], duration, statements: false, ct);

    /// <summary>One client on <paramref name="patient"/>'s stream for <paramref name="duration"/> (after 2 s unmeasured), profiled.</summary>
    public static async Task<(SpanProfile.Result Profile, double CommandsPerSecond)> MeasureAsync(
        BenchService service, Guid patient, TimeSpan duration, bool statements, CancellationToken ct)
    {
        var c = new Harness.Case("profiled client", 1, [new HttpCommandWorker(service, [patient], 0)]);
        await Harness.RunSliceAsync(c, TimeSpan.FromSeconds(2), record: false, ct);
        using var profile = new SpanProfile(statements);
        await Harness.RunSliceAsync(c, duration, record: true, ct);
        var result = profile.Finish([.. c.Latencies.Select(t => t * 1000.0 / Stopwatch.Frequency)]);
        return (result, c.Result().OperationsPerSecond);
    }
}
