using HealthEvents.Application;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.TestSupport;
using Mediator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Application.Tests;

/// <summary>The application wired as the service wires it, on a fresh database of a real PostgreSQL.</summary>
public sealed class ApplicationHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _dataFolder;

    private ApplicationHost(ServiceProvider services, string dataFolder)
    {
        _services = services;
        _dataFolder = dataFolder;
    }

    public static async Task<ApplicationHost> StartAsync(Func<IEventStore, IEventStore>? decorateStore = null)
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var dataFolder = Path.Combine(Path.GetTempPath(), "he-app-" + Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection().AddLogging();
        services.AddHealthEventsApplication();
        services.AddHealthEventsInfrastructure(new ConfigurationBuilder().Build(), connectionString, dataFolder);
        if (decorateStore is not null)
        {
            var real = services.Last(d => d.ServiceType == typeof(IEventStore));
            services.Remove(real);
            services.AddSingleton(sp => decorateStore((IEventStore)real.ImplementationFactory!(sp)));
        }
        var provider = services.BuildServiceProvider();
        await provider.InitializeHealthEventsStorageAsync();
        // Consents name grantees the network knows: found one with the hospitals the tests name.
        await provider.GetRequiredService<NetworkGenesis>().SeedIfEmptyAsync(new GenesisFile(
            [new GenesisHospital("north", "North", "in-process"), new GenesisHospital("south", "South", "in-process")], [], [], null), default);
        return new ApplicationHost(provider, dataFolder);
    }

    public IEventStore Store => _services.GetRequiredService<IEventStore>();

    public IServiceProvider Services => _services;

    public async Task<TResponse> SendAsync<TResponse>(IRequest<TResponse> request)
    {
        using var scope = _services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request);
    }

    public async Task<List<EventEnvelope>> ReadAsync(string streamId)
    {
        var events = new List<EventEnvelope>();
        await foreach (var e in Store.ReadStreamAsync(streamId)) events.Add(e);
        return events;
    }

    public static CommandContext As(string subject, Role role, string hospital, Guid? patientId = null) =>
        CommandContext.For(new Actor(subject, role, hospital, patientId));

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        try { Directory.Delete(_dataFolder, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
