using System.Net;
using System.Net.Http.Headers;
using HealthEvents.Api.Hosting;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// /metrics as a hospital's operator runs it, over real HTTP: on its own listener with a bearer token, an outsider on
/// the public address finds no /metrics at all (whatever Host header or token it sends), one without the token is
/// refused on the metrics listener, and the operator's scraper with it reads the Prometheus text. The metrics listener
/// serves nothing of the API.
/// </summary>
public sealed class MetricsListenerTests : IAsyncLifetime
{
    private const string Token = "scrape-secret-4c1f0e9a";
    private readonly int _metricsPort = FreePorts.Next();
    private ServiceHost _host = null!;
    private readonly HttpClient _client = new() { Timeout = Patience.Deadline };

    private Uri Metrics => new($"http://127.0.0.1:{_metricsPort}/metrics");

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(),
        "--HealthEvents:Metrics:Prometheus=true", $"--HealthEvents:Metrics:Urls=http://127.0.0.1:{_metricsPort}", $"--HealthEvents:Metrics:BearerToken={Token}");

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task The_public_listener_has_no_metrics_whatever_the_request_claims()
    {
        var physician = _host.As("northside physician");
        Assert.Equal(HttpStatusCode.NotFound, (await physician.GetAsync("/metrics")).StatusCode);
        // The Host header is the caller's to choose: naming the metrics port reaches nothing more.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(_host.Address, "/metrics"));
        spoofed.Headers.Host = $"127.0.0.1:{_metricsPort}";
        spoofed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.SendAsync(spoofed)).StatusCode);
    }

    [Fact]
    public async Task The_metrics_listener_refuses_a_scrape_without_the_token_and_serves_one_with_it()
    {
        using var bare = await _client.GetAsync(Metrics);
        Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
        Assert.Equal("application/problem+json", bare.Content.Headers.ContentType?.MediaType);
        Assert.Contains("metrics-token-required", await bare.Content.ReadAsStringAsync());
        Assert.Equal("Bearer", Assert.Single(bare.Headers.WwwAuthenticate).Scheme);
        Assert.DoesNotContain("healthevents_", await bare.Content.ReadAsStringAsync());

        // An API token is not the metrics token, nor is a near miss.
        foreach (var wrong in new[] { _host.Token("northside physician"), Token[..^1], Token + "x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Metrics) { Headers = { Authorization = new("Bearer", wrong) } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(request)).StatusCode);
        }

        // The operator's scraper (Prometheus: authorization credentials) reads the text format.
        Assert.Equal(HttpStatusCode.Created, (await _host.As("northside physician").PostJsonAsync("/patients",
            new { homeHospital = "northside", birthYear = 1970, sex = "male", name = "Scrape Subject" })).StatusCode);
        using var scrape = new HttpRequestMessage(HttpMethod.Get, Metrics) { Headers = { Authorization = new("bearer", Token) } };
        using var scraped = await _client.SendAsync(scrape);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        var text = await scraped.Content.ReadAsStringAsync();
        Assert.Contains("healthevents_commands_total{", text);
        Assert.DoesNotContain("Scrape Subject", text);
    }

    [Fact]
    public async Task The_metrics_listener_serves_nothing_of_the_api()
    {
        foreach (var path in new[] { "/health/live", "/patients", "/network", "/", "/metrics/x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Metrics, path))
            {
                Headers = { Authorization = new("Bearer", _host.Token("northside physician")) },
            };
            Assert.Equal(HttpStatusCode.NotFound, (await _client.SendAsync(request)).StatusCode);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")] // told apart by its port: it needs one known beforehand
    [InlineData("http://127.0.0.1:5097")] // the public address's port
    [InlineData("not an address")]
    public async Task A_metrics_address_without_a_port_of_its_own_is_refused_before_anything_starts(string url)
    {
        var data = Path.Combine(Path.GetTempPath(), "healthevents-metrics-" + Guid.NewGuid().ToString("N"));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => HealthEventsApp.BuildAsync(
            ["--urls", "http://127.0.0.1:5097", $"--HEALTHEVENTS_DATA={data}", "--HealthEvents:Metrics:Prometheus=true", $"--HealthEvents:Metrics:Urls={url}"]));
        Assert.Contains(MetricsListener.UrlsSetting, e.Message);
        Assert.False(Directory.Exists(data)); // no cluster, no keys: nothing was started
    }
}
