using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM, handled once for the whole benchmark: the first cancels <see cref="Token"/>, and the
/// process then goes on until the benchmark has stopped every service and private PostgreSQL it started, however long
/// that takes — a time limit that ended the process first would leave them running. Later signals only say so again
/// (SIGKILL still ends it at once, leaving them behind).
/// </summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;

    public Interruption() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];

    public CancellationToken Token => _cancel.Token;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // the process is not ended: the benchmark ends itself once it has stopped what it started
        if (_cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("Still stopping the services and PostgreSQL servers this benchmark started ...");
            return;
        }
        Console.Error.WriteLine($"{context.Signal}: stopping the services and PostgreSQL servers this benchmark started ...");
        // Not Cancel(): its callbacks would run on the signal's thread.
        _ = _cancel.CancelAsync();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cancel.Dispose();
    }

    /// <summary>
    /// The lifetime of a service hosted in the benchmark: it leaves the signals to <see cref="Interruption"/> (the default
    /// console lifetime would stop the host on Ctrl+C by itself, under clients still sending), so the benchmark stops it.
    /// </summary>
    public sealed class HostedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
