using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Ledger;
using HealthEvents.Projections.Research;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
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
    /// registered. Research projections (declared over HTTP, stored in the research stream) come from the
    /// <see cref="ResearchCatalog"/>: the runner polls it, the rebuilder knows those declared when it is created (and any
    /// other it is asked for by name).
    /// </summary>
    public static IServiceCollection AddHealthEventsProjections(
        this IServiceCollection services, string connectionString, bool runInBackground = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        services.TryAddSingleton(_ => ReadModelStore.Create(connectionString));
        services.TryAddSingleton<IDocumentStore>(sp => sp.GetRequiredService<ReadModelStore>().Store);
        services.TryAddSingleton<ProjectionRunnerOptions>();
        services.AddMetrics();
        services.TryAddSingleton(_ => Application.Telemetry.ServiceInstance.New());
        services.TryAddSingleton<IClock, SystemClock>();
        services.TryAddSingleton<ProjectionMetrics>();
        services.TryAddSingleton<ProjectionLagOptions>();
        services.TryAddSingleton<ProjectionLagSampler>();

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, AuditProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, ConsentProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, InsuranceProjection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjection, LedgerProjection>());

        services.TryAddSingleton<AuditQuery>();
        services.TryAddSingleton<DisclosureQuery>();
        services.TryAddSingleton<ConsentQuery>();
        services.TryAddSingleton<InsuranceQuery>();
        services.TryAddSingleton<LedgerQuery>();
        // What the ledger took in: every decision on a stream checks that the stream still reaches it (StreamLoader).
        services.TryAddSingleton<ILedgeredHistory>(sp => sp.GetRequiredService<LedgerQuery>());
        services.TryAddSingleton<LedgerCoverageQuery>();
        services.TryAddSingleton<StoredAfterQuery>();

        services.TryAddSingleton(sp => new ResearchCatalog(sp.GetRequiredService<IEventStore>(), sp.GetService<EventSerializer>()));
        services.TryAddSingleton<IEventLogStatistics>(_ => new EventTableStatistics(connectionString));
        services.TryAddSingleton(sp => new ResearchQuery(
            sp.GetRequiredService<ReadModelStore>(),
            sp.GetRequiredService<ResearchCatalog>(),
            sp.GetRequiredService<ProjectionRunner>(),
            sp.GetService<IClock>(),
            sp.GetService<IEventLogStatistics>()));

        services.TryAddSingleton(sp => new ProjectionRunner(
            sp.GetRequiredService<IEventStore>(),
            sp.GetRequiredService<ReadModelStore>(),
            sp.GetServices<IProjection>(),
            sp.GetService<EventSerializer>(),
            sp.GetRequiredService<ProjectionRunnerOptions>(),
            sp.GetService<ILogger<ProjectionRunner>>(),
            [sp.GetRequiredService<ResearchCatalog>()]));
        services.TryAddSingleton(sp => CreateRebuilder(sp));
        if (runInBackground)
        {
            services.AddHostedService(sp => sp.GetRequiredService<ProjectionRunner>());
            services.AddHostedService(sp => sp.GetRequiredService<ProjectionLagSampler>());
        }
        return services;
    }

    /// <summary>
    /// The rebuilder, knowing the research projections declared so far, so that <see cref="ProjectionRebuilder.ProjectionNames"/>
    /// lists them at once (the rebuild verb checks names before it rebuilds). If the event store cannot be read now, they
    /// are found later, when a rebuild asks for one by name.
    /// </summary>
    private static ProjectionRebuilder CreateRebuilder(IServiceProvider sp)
    {
        var catalog = sp.GetRequiredService<ResearchCatalog>();
        var rebuilder = new ProjectionRebuilder(
            sp.GetRequiredService<IEventStore>(),
            sp.GetRequiredService<ReadModelStore>(),
            sp.GetServices<IProjection>(),
            sp.GetService<EventSerializer>(),
            sp.GetService<IEventLogStatistics>(),
            sp.GetRequiredService<ProjectionRunnerOptions>(),
            sp.GetService<ILogger<ProjectionRebuilder>>(),
            [catalog]);
        try
        {
            // Resolution is synchronous; this runs once, off any synchronisation context (host start-up or a verb).
            Task.Run(() => rebuilder.RefreshAsync()).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            sp.GetService<ILogger<ProjectionRebuilder>>()?.LogWarning(
                "Research projections could not be listed yet ({ExceptionType}); they are found when rebuilt by name", e.GetType().Name);
        }
        return rebuilder;
    }
}
