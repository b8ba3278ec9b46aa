using System.Diagnostics;
using System.Net;
using System.Text;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The real executable (HealthEvents.Api.dll, what ./run.sh starts) in a process of its own, its output captured:
/// a verb run to its end, or the service until it is stopped as an operator stops it (SIGTERM).
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ServiceProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public int ExitCode => _process.ExitCode;
    public bool HasExited => _process.HasExited;

    /// <param name="workingDirectory">Where it runs: the default data folder is ./.data there.</param>
    /// <param name="environment">Variables to set; a null value removes one inherited from the test run.</param>
    public static ServiceProcess Start(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        // Through env, with SIGINT back to its default: a test run started in the background of a non-interactive shell
        // (POSIX: SIGINT ignored there) passes the ignore on, and .NET keeps an inherited ignore, so InterruptAsync's
        // Ctrl+C would reach nobody. The process is dotnet itself once env has exec'd it (same pid).
        var psi = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet"])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "HealthEvents.Api.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        return new ServiceProcess(Process.Start(psi)!);
    }

    /// <summary>Runs a verb to its end (within <see cref="Patience.Deadline"/>: a busy machine starts PostgreSQL slowly).</summary>
    public static async Task<ServiceProcess> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var run = Start(workingDirectory, environment, args);
        await run.WaitForExitAsync();
        return run;
    }

    public async Task WaitForExitAsync()
    {
        using var deadline = new CancellationTokenSource(Patience.Deadline);
        await _process.WaitForExitAsync(deadline.Token);
        _process.WaitForExit(); // the output's last lines are read too
    }

    /// <summary>Waits until /health/ready answers 200; fails early when the process has ended.</summary>
    public async Task WaitReadyAsync(Uri address)
    {
        using var probe = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < Patience.Deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The service ended with {_process.ExitCode}: {Stderr}{Stdout}");
            try
            {
                if ((await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(300);
        }
        throw new TimeoutException("The service did not become ready: " + Stderr);
    }

    /// <summary>Stops it as systemd or Ctrl+C would (SIGTERM), and waits for its clean shutdown.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await WaitForExitAsync();
    }

    /// <summary>Ctrl+C, as a terminal sends it (SIGINT); returns once the signal is sent.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
