using System.Net;

namespace HealthEvents.Api.Tests;

/// <summary>One caller cannot flood the network: beyond its bucket, 429 with Retry-After, and nothing recorded.</summary>
public sealed class FairUseTests : IAsyncLifetime
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(),
        "--HealthEvents:RateLimit:PermitsPerSecond=1", "--HealthEvents:RateLimit:Burst=3");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_caller_beyond_its_share_gets_429_and_records_nothing()
    {
        var lakeside = _host.As("lakeside pharmacist");
        var before = await _host.CountsAsync();

        // Sent at once: the bucket (3, refilled at 1 a second) is spent however slow the machine.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            lakeside.PostJsonAsync($"/patients/{Alice}/access", new { purpose = "treatment", categories = new[] { "conditions" } })));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        var limited = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);

        Assert.NotNull(limited);
        Assert.True(limited!.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("rate-limited", (await limited.JsonAsync()).GetProperty("code").GetString());
        // Each request that got through recorded its denial; each refused one recorded nothing.
        var recorded = statuses.Count(s => s == HttpStatusCode.Forbidden);
        Assert.Equal(before.Events + recorded, (await _host.CountsAsync()).Events);
        // Another caller has a bucket of its own; health is never limited.
        Assert.Equal(HttpStatusCode.OK, (await _host.As("riverside physician").GetAsync("/network")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client().GetAsync("/health/live")).StatusCode);
    }
}
