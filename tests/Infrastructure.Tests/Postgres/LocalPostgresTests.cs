using System.Diagnostics;
using HealthEvents.Infrastructure.Postgres;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Infrastructure.Tests.Postgres;

/// <summary>
/// The private PostgreSQL that ./run.sh and the benchmarks start: Ctrl+C while it starts must not leave a server running
/// that nobody can stop (the caller never received the instance to dispose).
/// </summary>
public sealed class LocalPostgresTests
{
    [Fact]
    public async Task Interrupted_just_after_the_server_started_it_stops_that_server_again()
    {
        var dir = Path.Combine(Path.GetTempPath(), "healthevents-interrupt-" + Guid.NewGuid().ToString("N")[..12]);
        using var interrupt = new CancellationTokenSource();
        try
        {
            // Cancelled the moment the server is up, before the password is set: the window a Ctrl+C falls into.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                LocalPostgres.StartAsync(dir, durable: false, new CancelWhenStarted(interrupt), interrupt.Token));

            Assert.True(interrupt.IsCancellationRequested, "the server never reported that it started");
            Assert.False(File.Exists(Path.Combine(dir, "postmaster.pid")), "a server is still running on the data folder");
        }
        finally
        {
            KillLeftoverServer(dir);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>So a failing run does not leave its server behind either.</summary>
    private static void KillLeftoverServer(string dir)
    {
        var pidFile = Path.Combine(dir, "postmaster.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), out var pid))
        {
            try
            {
                using var server = Process.GetProcessById(pid);
                server.Kill();
                server.WaitForExit(TimeSpan.FromMinutes(1));
            }
            catch (ArgumentException) { } // already gone
        }
    }

    /// <summary>Cancels when LocalPostgres logs that its server started (the log line comes before the password is set).</summary>
    private sealed class CancelWhenStarted(CancellationTokenSource interrupt) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).StartsWith("Private PostgreSQL started", StringComparison.Ordinal)) interrupt.Cancel();
        }
    }
}
