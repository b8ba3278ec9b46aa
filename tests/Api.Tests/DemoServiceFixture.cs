namespace HealthEvents.Api.Tests;

/// <summary>One seeded demo service shared by the tests of a class.</summary>
public sealed class DemoServiceFixture : IAsyncLifetime
{
    public ServiceHost Host { get; private set; } = null!;
    public async Task InitializeAsync() => Host = await ServiceHost.StartAsync();
    public async Task DisposeAsync() => await Host.DisposeAsync();
}
