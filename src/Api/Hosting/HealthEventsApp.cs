using HealthEvents.Api.Endpoints;
using HealthEvents.Api.Errors;
using HealthEvents.Application;
using HealthEvents.Application.Serialization;
using HealthEvents.Infrastructure;

namespace HealthEvents.Api.Hosting;

/// <summary>Builds the service: configuration, the database it needs, services, endpoints.</summary>
public static class HealthEventsApp
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(builder.Configuration["HEALTHEVENTS_URLS"] is { Length: > 0 } urls ? urls : DefaultUrl);

        var dataFolder = DataFolder.Resolve(builder.Configuration);
        using var bootLog = LoggerFactory.Create(l => l.AddConsole());
        var postgres = await PostgresHosting.ResolveAsync(builder.Configuration, dataFolder, bootLog.CreateLogger("HealthEvents.Postgres"));

        var services = builder.Services;
        services.AddSingleton(postgres);
        services.AddHostedService(sp => sp.GetRequiredService<PostgresHosting>());
        services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(builder.Configuration, postgres.ConnectionString, dataFolder);

        var app = builder.Build();
        await app.Services.InitializeHealthEventsStorageAsync();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapHealthEndpoints();
        return app;
    }
}
