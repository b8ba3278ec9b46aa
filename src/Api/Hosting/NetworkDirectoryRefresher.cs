using HealthEvents.Application.Network;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// Keeps this node's view of the network (members, keys, staff) current when another node changes
/// it: token validation reads the in-memory directory and must not wait on the database.
/// </summary>
public sealed class NetworkDirectoryRefresher(NetworkDirectory directory, ILogger<NetworkDirectoryRefresher> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await directory.RefreshAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning("Refreshing the network directory failed ({ExceptionType}); keeping the last view", e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping — also when the host failed to start (the address in use) and is disposed without a stop: no fault.
        }
    }
}
