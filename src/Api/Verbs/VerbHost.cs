using HealthEvents.Api.Hosting;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// The service's own composition, built but not served, for a one-off verb against its database: the private
/// PostgreSQL is started if need be and stopped after — unless it was found running (a service may be serving on it).
/// </summary>
public static class VerbHost
{
    /// <param name="settings">Configuration arguments ("--Key=value"), e.g. the data folder from --data.</param>
    public static async Task<int> RunAsync(IEnumerable<string> settings, Func<IServiceProvider, Task<int>> work)
    {
        // Warnings and errors only, on standard error: standard output carries the verb's result.
        await using var app = await HealthEventsApp.BuildAsync(
            ["--HealthEvents:SeedDemo=false", "--HealthEvents:Verb=true", "--Logging:LogLevel:Default=Warning",
             "--Logging:Console:LogToStandardErrorThreshold=Trace", .. settings]);
        try
        {
            return await work(app.Services);
        }
        finally
        {
            await app.Services.GetRequiredService<PostgresHosting>().StopAsync(CancellationToken.None);
        }
    }
}
