using System.Text.Json.Serialization;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Endpoints;
using HealthEvents.Api.Errors;
using HealthEvents.Application;
using HealthEvents.Application.Serialization;
using HealthEvents.Infrastructure;
using HealthEvents.Projections;
using Scalar.AspNetCore;

namespace HealthEvents.Api.Hosting;

/// <summary>Builds the service: configuration, the database it needs, services, endpoints.</summary>
public static class HealthEventsApp
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Content root beside the binaries, so appsettings.json is found wherever the service is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(builder.Configuration["HEALTHEVENTS_URLS"] is { Length: > 0 } urls ? urls : DefaultUrl);

        var dataFolder = DataFolder.Resolve(builder.Configuration);
        using var bootLog = LoggerFactory.Create(l => l.AddConsole());
        var postgres = await PostgresHosting.ResolveAsync(builder.Configuration, dataFolder, bootLog.CreateLogger("HealthEvents.Postgres"));

        try
        {
            return await BuildAsync(builder, postgres, dataFolder);
        }
        catch
        {
            // The host never started, so it will not stop the private PostgreSQL either.
            await postgres.StopAsync(CancellationToken.None);
            throw;
        }
    }

    private static async Task<WebApplication> BuildAsync(WebApplicationBuilder builder, PostgresHosting postgres, string dataFolder)
    {
        var services = builder.Services;
        services.AddSingleton(postgres);
        services.AddHostedService(sp => sp.GetRequiredService<PostgresHosting>());
        services.ConfigureHttpJsonOptions(o =>
        {
            Json.Configure(o.SerializerOptions);
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        // Binding failures reach the problem-details handler instead of an empty 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize =
            builder.Configuration.GetValue<long?>("HealthEvents:MaxRequestBodyBytes") ?? 64 * 1024);
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(builder.Configuration, postgres.ConnectionString, dataFolder);
        services.AddHealthEventsProjections(postgres.ConnectionString);
        services.AddSingleton<ReadYourWrites>();
        services.AddHealthEventsAuth();
        services.AddSingleton<DemoSeeder>();
        services.AddHostedService<NetworkDirectoryRefresher>();

        var app = builder.Build();
        await app.Services.InitializeHealthEventsStorageAsync();
        if (builder.Configuration.GetValue("HealthEvents:SeedDemo", true))
            await app.Services.GetRequiredService<DemoSeeder>().SeedAsync(dataFolder, CancellationToken.None);

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapScalarApiReference("/docs");
        app.MapHealthEndpoints();
        app.MapNetworkEndpoints();
        app.MapGroup("/patients").WithTags("Patients").RequireAuthorization().MapPatientCommands().MapPatientQueries();
        return app;
    }
}
