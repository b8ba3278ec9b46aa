namespace HealthEvents.Api.Tests;

/// <summary>One seeded demo service shared by the tests of a class, on PostgreSQL.</summary>
public class DemoServiceFixture : IAsyncLifetime
{
    private ServiceHost? _host;

    protected virtual TestStore Store => TestStore.PostgreSql;

    /// <summary>The service; skips the test (SkippableFact) when its store has no server here.</summary>
    public ServiceHost Host => _host ?? throw new SkipException(ServiceHost.EventStoreDbSkipReason);

    public async Task InitializeAsync()
    {
        if (Store == TestStore.EventStoreDb && ServiceHost.EventStoreDbConnectionString is null) return;
        _host = await ServiceHost.StartAsync(Store);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

/// <summary>The same, with the service's events on EventStoreDB (HEALTHEVENTS_ESDB; without it, the tests skip).</summary>
public sealed class EventStoreDbDemoServiceFixture : DemoServiceFixture
{
    protected override TestStore Store => TestStore.EventStoreDb;
}
