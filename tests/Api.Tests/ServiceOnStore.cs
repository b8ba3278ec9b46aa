namespace HealthEvents.Api.Tests;

/// <summary>
/// A test class's service, started afresh for each test on the given store: the base of the end-to-end tests that run
/// on both stores (a subclass per store). On EventStoreDB without HEALTHEVENTS_ESDB nothing starts and every test
/// reports Skipped with the reason (their facts are SkippableFact): there is no server, and none is faked.
/// </summary>
public abstract class ServiceOnStore(TestStore store) : IAsyncLifetime
{
    private ServiceHost? _host;

    protected TestStore Store => store;

    /// <summary>The running service; skips the test when its store has no server here.</summary>
    protected ServiceHost Host => _host ?? throw new SkipException(ServiceHost.EventStoreDbSkipReason);

    /// <summary>More configuration for the service, as "--Key=value" arguments.</summary>
    protected virtual string[] Settings => [];

    /// <summary>More set-up of the service's host (a clock of its own), or null.</summary>
    protected virtual Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? Configure => null;

    public virtual async Task InitializeAsync()
    {
        if (store == TestStore.EventStoreDb && ServiceHost.EventStoreDbConnectionString is null) return;
        _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(store), Configure, Settings);
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}
