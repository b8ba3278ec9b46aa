using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HealthEvents.Application;

public static class DependencyInjection
{
    /// <summary>Handlers, validators and the one command path. Ports (event store, cipher, endorsement) come from Infrastructure.</summary>
    public static IServiceCollection AddHealthEventsApplication(this IServiceCollection services)
    {
        services.AddMediator(o =>
        {
            o.ServiceLifetime = ServiceLifetime.Scoped;
            // Telemetry outermost: a command its validators refuse is a command too, refused.
            o.PipelineBehaviors = [typeof(Telemetry.CommandTelemetryBehavior<,>), typeof(ValidationBehavior<,>)];
        });
        services.AddValidatorsFromAssembly(typeof(DependencyInjection).Assembly, ServiceLifetime.Singleton);
        services.AddMetrics();
        services.TryAddSingleton(_ => Telemetry.ServiceInstance.New());
        services.TryAddSingleton<Telemetry.CommandTelemetry>();
        services.TryAddSingleton<IClock, SystemClock>();
        services.TryAddSingleton(EventSerializer.Default);
        services.TryAddSingleton<StreamStateCache>(_ => new StreamStateCache());
        services.TryAddSingleton<IEndorsementService, NoEndorsement>();
        services.TryAddSingleton<StreamLoader>();
        services.TryAddSingleton<CommandDecider>();
        services.TryAddSingleton<StreamGates>(_ => new StreamGates());
        services.TryAddSingleton<CommandExecutor>();
        services.TryAddSingleton<PatientStream>();
        services.TryAddSingleton<Ledger.LedgerStream>();
        services.TryAddSingleton<Research.ResearchStream>();
        services.TryAddSingleton<Ledger.LedgerVerifier>();
        services.TryAddSingleton<AccessOutcomes>();
        services.TryAddSingleton<PatientDirectory>();
        services.TryAddSingleton<RecordContents>();
        return services;
    }
}
