using HealthEvents.Api.Auth;
using HealthEvents.Api.Endpoints;
using HealthEvents.Api.Errors;
using HealthEvents.Infrastructure;
using HealthEvents.Projections;
using HealthEvents.Projections.Ledger;
using HealthEvents.Projections.Views.Audit;
using Scalar.AspNetCore;

namespace HealthEvents.Api.Hosting;

/// <summary>The API node: endpoints, auth, projections, the demo.</summary>
public static class HealthEventsApp
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        NodeHost.BuildAsync(args, DefaultUrl, "healthevents", configure, BuildAsync);

    private static async Task<WebApplication> BuildAsync(WebApplicationBuilder builder, PostgresHosting postgres, string dataFolder)
    {
        var services = builder.Services;
        services.AddOpenApi();
        // Problems under /fhir are written as OperationOutcomes: ahead of the default writer, which takes any request.
        services.Insert(0, ServiceDescriptor.Singleton<IProblemDetailsWriter, HealthEvents.Api.Fhir.FhirOutcomeWriter>());
        services.AddHealthEventsProjections(postgres.ConnectionString);
        services.AddHttpContextAccessor();
        services.AddSingleton<ReadYourWrites>();
        services.AddHealthEventsAuth();
        services.AddFairUse(builder.Configuration);
        services.AddSingleton<DemoSeeder>();
        services.AddSingleton(builder.Configuration.GetSection("HealthEvents:Ledger").Get<LedgerOptions>() ?? new LedgerOptions());
        services.AddSingleton<LedgerSigner>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerSigner>());
        services.AddSingleton(builder.Configuration.GetSection("HealthEvents:LiveAudit").Get<AuditFeedOptions>() ?? new AuditFeedOptions());
        services.AddSingleton<AuditFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditFeed>());
        services.AddHostedService<HealthEvents.Api.Fhir.FhirValidatorWarmUp>();

        var app = builder.Build();
        try
        {
            await app.Services.InitializeHealthEventsStorageAsync();
        }
        catch (HealthEvents.Application.Network.GenesisMismatchException) when (builder.Configuration.GetValue("HealthEvents:Verb", false))
        {
            // A node refuses to serve a network that is not the one it pinned; a one-off verb goes on: `verify` reports
            // it (network v0: genesis-mismatch), and the others refuse when they first use the network.
        }
        app.Services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionMetrics>(); // the meter lives as long as the host
        var demo = builder.Configuration.GetValue("HealthEvents:SeedDemo", true);
        if (demo) await app.Services.GetRequiredService<DemoSeeder>().SeedAsync(dataFolder, CancellationToken.None);

        app.UseMetricsListener(); // first: a request on the metrics listener meets nothing of the API
        app.UseCorrelationIdHeader();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseQueryTextGuard();
        app.UsePatientPage();
        app.UseAuthentication();
        app.UseRateLimiter(); // after authentication: the bucket is the caller's, not the address's
        app.UseIdempotencyKeys();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapScalarApiReference("/docs");
        app.MapHealthEndpoints();
        app.MapNetworkEndpoints();
        app.MapNetworkGovernance();
        app.MapGroup("/patients").WithTags("Patients").RequireAuthorization().MapPatientCommands().MapPatientQueries().MapAuditLive().MapPatientEnvelopes()
            .MapAccessExplanation().MapDisclosures().MapPatientDeviceKey();
        app.MapResearchEndpoints();
        app.MapLedgerEndpoints();
        app.MapFhirEndpoints();
        if (demo) app.MapDemoEndpoints();
        return app;
    }
}
