using HealthEvents.Application.Telemetry;
using HealthEvents.Projections.Runner;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// OpenTelemetry for a node (README, "Observability"): traces of the command path, ASP.NET Core, HttpClient, gRPC client
/// and Npgsql; metrics of the command path, the read side, ASP.NET Core, HttpClient and Npgsql. Exported over OTLP only
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the other <c>OTEL_EXPORTER_OTLP_*</c> variables
/// itself); scraped at <c>/metrics</c> (Prometheus text format) only when <see cref="PrometheusSetting"/> is true, and only on
/// the management listener (<see cref="MetricsListener"/>). Every
/// span passes <see cref="TelemetryRedaction"/> before any exporter sees it.
/// </summary>
public static class Observability
{
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string PrometheusSetting = "HealthEvents:Metrics:Prometheus";
    public const string PrometheusPath = "/metrics";

    /// <summary>True: a database call made outside any span (the projections' polling) is traced as a trace of its own.</summary>
    public const string UnparentedDatabaseSpansSetting = "HealthEvents:Tracing:UnparentedDatabaseSpans";

    /// <summary>
    /// Wires the providers. Call it before anything else configures OpenTelemetry: processors run in the order they are
    /// added, and the redaction must come before every exporter, a caller's (the tests' in-memory one) included.
    /// </summary>
    /// <param name="serviceName">The resource's <c>service.name</c>, unless <c>OTEL_SERVICE_NAME</c> names another.</param>
    public static void AddObservability(this WebApplicationBuilder builder, string serviceName)
    {
        var configuration = builder.Configuration;
        var otlp = configuration[OtlpEndpointSetting] is { Length: > 0 };
        TelemetryRedaction.ListenForExceptions();
        var instance = ServiceInstance.New();
        builder.Services.AddSingleton(instance);
        builder.Services.AddSingleton(configuration.GetSection("HealthEvents:Metrics:ProjectionLag").Get<ProjectionLagOptions>() ?? new ProjectionLagOptions());

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : serviceName,
                serviceVersion: HealthEventsTelemetry.Version, serviceInstanceId: instance.Id))
            .WithTracing(tracing =>
            {
                tracing.AddProcessor(new TelemetryRedaction(configuration.GetValue(UnparentedDatabaseSpansSetting, false)))
                    .AddSource(HealthEventsTelemetry.SourceName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments(PrometheusPath))
                    .AddHttpClientInstrumentation()
                    .AddGrpcClientInstrumentation()
                    .AddNpgsql();
                if (otlp) tracing.AddOtlpExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(HealthEventsTelemetry.CommandMeterName, ProjectionMetrics.MeterName, HealthEvents.Application.Endorsement.EndorsementSignatures.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation();
                if (otlp) metrics.AddOtlpExporter();
                if (IsPrometheusOn(configuration)) metrics.AddPrometheusExporter();
            });
    }

    /// <summary>Whether <c>/metrics</c> is served (on its own listener, <see cref="MetricsListener"/>).</summary>
    public static bool IsPrometheusOn(IConfiguration configuration) => configuration.GetValue(PrometheusSetting, false);
}
