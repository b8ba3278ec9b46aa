using System.CommandLine;
using System.Globalization;

namespace HealthEvents.Benchmarks;

/// <summary>
/// `cpu`: where the CPU goes while N closed-loop clients add record entries over HTTP. The service as ./run.sh starts it
/// (<see cref="BenchService"/>, hosted in this process with the clients); for each client count: a warm-up, the same
/// window unprofiled (the rate without the profiler's cost), then the window under a <see cref="CpuProfile"/>. Prints the
/// split service / client / PostgreSQL / rest of the machine, and the service's CPU by area in microseconds per command.
/// </summary>
public static class CpuCommand
{
    public static Command Create()
    {
        var (duration, quick) = (BenchCli.Duration(15), BenchCli.Quick("5 s"));
        var clients = new Option<int[]>("--clients")
        {
            Description = "Closed-loop clients, each its own patient (repeatable: --clients 1 --clients 16)", HelpName = "n",
            DefaultValueFactory = _ => [16], AllowMultipleArgumentsPerToken = true,
        };
        // Parsed here, so a wrong count is reported like any other option's (exit 2, before anything starts).
        clients.CustomParser = r =>
        {
            var counts = r.Tokens.Select(t => int.TryParse(t.Value, out var n) && n is >= 1 and <= 256 ? n : 0).ToArray();
            var wrong = r.Tokens.Where((_, i) => counts[i] == 0).Select(t => $"'{t.Value}'");
            if (counts.Contains(0)) r.AddError($"--clients takes whole numbers from 1 to 256, not {string.Join(", ", wrong)}.");
            return counts;
        };
        var command = new Command("cpu", "A sampling CPU profile (EventPipe) of the service while N clients add entries over HTTP, by area, with PostgreSQL's CPU") { clients, duration, quick };
        command.SetAction(async (p, ct) =>
        {
            var counts = p.GetValue(clients) ?? [16];
            await using var service = await BenchService.StartAsync("bench-cpu", null, ct);
            await Api.Fhir.FhirValidation.Shared.WarmAsync().WaitAsync(ct); // compiling the validators keeps a core busy for seconds
            var window = BenchCli.Seconds(p, duration, quick, 5);
            var patients = await service.RegisterPatientsAsync(counts.Max(), ct);
            foreach (var n in counts)
            {
                var (rate, profiled, result) = await MeasureAsync(service, patients[..n], window, ct);
                Print(n, rate, profiled, result, Console.Out);
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// <paramref name="patients"/>.Length clients: 2 s warm-up, <paramref name="window"/> unprofiled, <paramref name="window"/>
    /// profiled. Returns commands/s unprofiled, the profiled case, and the profile.
    /// </summary>
    public static async Task<(double Rate, CaseResult Profiled, CpuProfile.Result Profile)> MeasureAsync(
        BenchService service, Guid[] patients, TimeSpan window, CancellationToken ct)
    {
        Worker[] Workers() => [.. patients.Select((p, i) => new HttpCommandWorker(service, [p], i))];
        var plain = new Harness.Case("command over HTTP", patients.Length, Workers());
        await Harness.RunSliceAsync(plain, TimeSpan.FromSeconds(5), record: false, ct);
        await Harness.RunSliceAsync(plain, window, record: true, ct);

        var profiled = new Harness.Case("command over HTTP, profiled", patients.Length, plain.Workers);
        await using var profile = await CpuProfile.StartAsync(ProcCpu.Postmaster(service.DataFolder), ct);
        await Harness.RunSliceAsync(profiled, TimeSpan.FromSeconds(1), record: false, ct); // the session's start-up (rundown) settles
        profile.Begin();
        await Harness.RunSliceAsync(profiled, window, record: true, ct);
        var result = await profile.FinishAsync(ct);
        return (plain.Result().OperationsPerSecond, profiled.Result(), result);
    }

    public static void Print(int clients, double rate, CaseResult profiled, CpuProfile.Result r, TextWriter o)
    {
        var commands = profiled.Operations;
        string Us(double seconds) => commands == 0 ? "-" : (seconds * 1e6 / commands).ToString("N0", CultureInfo.InvariantCulture);
        string Pct(double part, double whole) => whole <= 0 ? "-" : (100 * part / whole).ToString("0.0", CultureInfo.InvariantCulture);
        var client = r.Areas.Sum(a => a.ClientSeconds);
        var service = r.Process - client;
        var other = Math.Max(0, r.Machine - r.Process - r.Postgres);
        var capacity = r.WindowSeconds * Environment.ProcessorCount;

        o.WriteLine();
        o.WriteLine($"CPU at {clients} client(s): {rate:N0} commands/s unprofiled, {profiled.OperationsPerSecond:N0}/s profiled " +
                    $"(p50 {profiled.P50Ms:0.0} ms, p99 {profiled.P99Ms:0.0} ms), {commands:N0} commands in {r.WindowSeconds:0.0} s; " +
                    $"{Environment.ProcessorCount} cores, load average {HttpMode.LoadAverage()}");
        o.WriteLine($"{"where (CPU s in the window)",-46} {"CPU s",7} {"% cores",8} {"us/command",11}");
        o.WriteLine(new string('-', 75));
        foreach (var (name, s) in new[] { ("service (this process less the client's stacks)", service), ("benchmark client (HttpClient stacks, same process)", client),
                     ("PostgreSQL (postmaster and its backends)", r.Postgres), ("rest of the machine (other processes, other agents)", other), ("idle", Math.Max(0, capacity - r.Machine)) })
            o.WriteLine($"{name,-52} {s,7:0.00} {Pct(s, capacity),8} {Us(s),11}");
        o.WriteLine();
        o.WriteLine($"{"this process by area (innermost matching frame)",-46} {"CPU s",7} {"share",6} {"us/cmd",7} {"client",7} {"proj.",6}");
        o.WriteLine(new string('-', 84));
        foreach (var a in r.Areas)
            o.WriteLine($"{a.Name,-46} {a.Seconds,7:0.00} {Pct(a.Seconds, r.Process),5}% {Us(a.Seconds),7} {Us(a.ClientSeconds),7} {Us(a.ProjectionSeconds),6}");
        o.WriteLine($"{"process total (/proc utime+stime)",-46} {r.Process,7:0.00} {"100",5}% {Us(r.Process),7}");
        o.WriteLine($"{"  of it in the kernel (stime: syscalls, loopback TCP)",-46} {r.ProcessSystem,7:0.00} {Pct(r.ProcessSystem, r.Process),5}% {Us(r.ProcessSystem),7}");
        o.WriteLine($"samples: {r.RunningSamples:N0} running, {r.WaitingSamples:N0} waiting (dropped); us/cmd = CPU seconds / commands in the window;");
        o.WriteLine("client / proj.: of the row, stacks with an HttpClient or benchmark frame / a HealthEvents.Projections frame.");
        o.WriteLine("heaviest leaf methods (CPU s):");
        foreach (var (method, seconds) in r.Leaves)
            o.WriteLine($"  {seconds,6:0.00}  {(method.Length > 110 ? method[..110] : method)}");
    }
}
