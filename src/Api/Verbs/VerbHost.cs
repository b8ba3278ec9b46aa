using HealthEvents.Api.Hosting;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// The service's own composition, built but not served, for a one-off verb against its database: the private
/// PostgreSQL is started if need be and stopped after — unless it was found running (a service may be serving on it).
/// Such a verb only reads what a service made: where there is no data folder, database, key or founded network, it says
/// so and ends with <see cref="ExitCodes.Failed"/>, having created nothing (no cluster, no keys).
/// </summary>
public static class VerbHost
{
    /// <param name="settings">Configuration arguments ("--Key=value"), e.g. the data folder from --data.</param>
    public static async Task<int> RunAsync(IEnumerable<string> settings, Func<IServiceProvider, Task<int>> work)
    {
        WebApplication app;
        try
        {
            // Warnings and errors only, on standard error: standard output carries the verb's result.
            app = await HealthEventsApp.BuildAsync(
                ["--HealthEvents:SeedDemo=false", "--HealthEvents:Verb=true", $"--{DataFolder.ExistingOnlyKey}=true",
                 "--Logging:LogLevel:Default=Warning", "--Logging:Console:LogToStandardErrorThreshold=Trace", .. settings]);
        }
        catch (MissingDataException missing)
        {
            await Console.Error.WriteLineAsync(missing.Message);
            return ExitCodes.Failed;
        }
        await using (app)
        {
            try
            {
                // A database whose network was never founded (an external server, say) holds nothing to work on.
                // Asked of the store itself: the directory stays empty too when the network is not the founding this node pinned,
                // which `verify` reports and the other verbs meet when they use it.
                // A node that pinned a founding has run on it: a network stream serving nothing is then a founding hidden or
                // deleted, which `verify` reports and the other verbs refuse when they use the network.
                if (app.Services.GetRequiredService<NetworkDirectory>().Current.Hospitals.IsEmpty
                    && app.Services.GetRequiredService<NetworkGenesisPin>().Current is null
                    && await app.Services.GetRequiredService<IEventStore>().ReadLastAsync(NetworkStream.StreamId) is null)
                {
                    await Console.Error.WriteLineAsync("The store holds no network (no genesis): the service has never run on this database. " +
                                                       "Start it once (./run.sh), or pass --data with the folder it uses.");
                    return ExitCodes.Failed;
                }
                return await work(app.Services);
            }
            finally
            {
                await app.Services.GetRequiredService<PostgresHosting>().StopAsync(CancellationToken.None);
            }
        }
    }
}
