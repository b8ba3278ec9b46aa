using HealthEvents.Application.EventStore;
using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
using HealthEvents.Projections.Views.Records;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Projections;

public static class DependencyInjection
{
    /// <summary>
    /// The read side: the Marten store (schema "readmodels" in <paramref name="connectionString"/>'s database), the four
    /// views, their query classes, the runner (a hosted service when <paramref name="runInBackground"/>; always available
    /// for status and WaitForAsync) and the rebuilder. Needs an <see cref="IEventStore"/> registered elsewhere; uses an
    /// <see cref="EventSerializer"/>, <see cref="ProjectionRunnerOptions"/> and <see cref="IEventLogStatistics"/> when
    /// registered.
    /// </summary>
    public static IServiceCollection AddHealthEventsProjections(
        this IServiceCollection services, string connectionString, bool runInBackground = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        services.TryAddSingleton(_ => ReadModelStore.Create(connectionString));
        services.TryAddSingleton<IDocumentStore>(sp => sp.GetRequiredService<ReadModelStore>().Store);
        services.TryAddSingleton<ProjectionRunnerOptions>();

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, AuditProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, ConsentProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, RecordProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, InsuranceProjection>());

        services.TryAddSingleton<AuditQuery>();
        services.TryAddSingleton<ConsentQuery>();
        services.TryAddSingleton<RecordQuery>();
        services.TryAddSingleton<InsuranceQuery>();

        services.TryAddSingleton(sp => new ProjectionRunner(
            sp.GetRequiredService<IEventStore>(),
            sp.GetRequiredService<ReadModelStore>(),
            sp.GetServices<IProjection>(),
            sp.GetService<EventSerializer>(),
            sp.GetRequiredService<ProjectionRunnerOptions>(),
            sp.GetService<ILogger<ProjectionRunner>>()));
        services.TryAddSingleton(sp => new ProjectionRebuilder(
            sp.GetRequiredService<IEventStore>(),
            sp.GetRequiredService<ReadModelStore>(),
            sp.GetServices<IProjection>(),
            sp.GetService<EventSerializer>(),
            sp.GetService<IEventLogStatistics>(),
            sp.GetRequiredService<ProjectionRunnerOptions>(),
            sp.GetService<ILogger<ProjectionRebuilder>>()));
        if (runInBackground)
            services.AddHostedService(sp => sp.GetRequiredService<ProjectionRunner>());
        return services;
    }
}
