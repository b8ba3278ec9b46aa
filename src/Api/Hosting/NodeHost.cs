using System.Text.Json.Serialization;
using HealthEvents.Api.Errors;
using HealthEvents.Application;
using HealthEvents.Application.Serialization;
using HealthEvents.Infrastructure;
using HealthEvents.Infrastructure.Endorsement;

namespace HealthEvents.Api.Hosting;

/// <summary>What every node of the service shares, the API and an endorser alike: configuration, its database, the core services.</summary>
public static class NodeHost
{
    public static async Task<WebApplication> BuildAsync(
        string[] args, string defaultUrl, string serviceName, Action<WebApplicationBuilder>? configure,
        Func<WebApplicationBuilder, PostgresHosting, string, Task<WebApplication>> build)
    {
        // Content root beside the binaries, so appsettings.json is found wherever the service is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddObservability(serviceName); // before configure: an exporter added there must come after the redaction
        configure?.Invoke(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(builder.Configuration["HEALTHEVENTS_URLS"] is { Length: > 0 } urls ? urls : defaultUrl);
        builder.AddMetricsListener(); // after the public URLs: /metrics listens beside them, on its own port

        var dataFolder = DataFolder.Resolve(builder.Configuration);
        if (builder.Configuration.GetValue(DataFolder.ExistingOnlyKey, false) && DataFolder.Missing(builder.Configuration, dataFolder) is { } missing)
            throw new MissingDataException(missing);
        // Before the host exists, but under its Logging settings (a verb's quieter level and standard error).
        using var bootLog = LoggerFactory.Create(l => l.AddConfiguration(builder.Configuration.GetSection("Logging")).AddConsole());
        var postgres = await PostgresHosting.ResolveAsync(builder.Configuration, dataFolder, bootLog.CreateLogger("HealthEvents.Postgres"));
        try
        {
            AddCore(builder, postgres, dataFolder);
            return await build(builder, postgres, dataFolder);
        }
        catch
        {
            // The host never started, so it will not stop the private PostgreSQL either.
            await postgres.StopAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Serves until stopped. When the host fails to start (the address in use), it stops none of the services it had
    /// started: the private PostgreSQL the node started is stopped here, so a failed start leaves no server behind.
    /// </summary>
    public static async Task RunAsync(WebApplication app)
    {
        var postgres = app.Services.GetRequiredService<PostgresHosting>(); // RunAsync disposes the services as it ends
        try
        {
            await app.RunAsync();
        }
        catch
        {
            await postgres.StopAsync(CancellationToken.None);
            throw;
        }
    }

    private static void AddCore(WebApplicationBuilder builder, PostgresHosting postgres, string dataFolder)
    {
        var services = builder.Services;
        services.AddSingleton(postgres);
        services.AddHostedService(sp => sp.GetRequiredService<PostgresHosting>()
            .WithLogger(sp.GetRequiredService<ILoggerFactory>().CreateLogger("HealthEvents.Postgres")));
        services.ConfigureHttpJsonOptions(o =>
        {
            Json.Configure(o.SerializerOptions);
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            // A body naming a property twice is ambiguous (which value counts?): refused, never "the last one wins".
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        // Binding failures reach the problem-details handler instead of an empty 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize =
            builder.Configuration.GetValue<long?>("HealthEvents:MaxRequestBodyBytes") ?? 64 * 1024);
        services.AddProblemDetails();
        ProblemTelemetry.Decorate(services); // every problem answer counted by its code (README, "Observability")
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(builder.Configuration, postgres.ConnectionString, dataFolder);
        services.AddHealthEventsEndorsement(builder.Configuration);
        services.AddHostedService<NetworkDirectoryRefresher>();
    }
}
