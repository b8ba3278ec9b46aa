using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using HealthEvents.Api.Errors;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// Where <c>/metrics</c> (Prometheus text format) is served when <see cref="Observability.PrometheusSetting"/> is on: only
/// on a listener of its own, the management addresses <see cref="UrlsSetting"/> (default <see cref="DefaultUrl"/>: loopback,
/// so only this machine's scraper), never on the public one, where <c>/metrics</c> is a 404. That listener answers
/// nothing else (the API is not reachable through it: 404). With <see cref="BearerTokenSetting"/> set, a scrape must
/// also present it (<c>Authorization: Bearer …</c>, RFC 6750 §2.1), or is answered 401 with
/// <c>WWW-Authenticate: Bearer</c> and an RFC 9457 problem. Requests are told apart by the local port they arrived on,
/// never by their Host header, which the caller chooses.
/// </summary>
public static class MetricsListener
{
    /// <summary>The management addresses, <c>;</c>-separated, each with an explicit port (not 0) no public address uses.</summary>
    public const string UrlsSetting = "HealthEvents:Metrics:Urls";

    /// <summary>A secret the scraper presents as a bearer token; unset, the listener's address is the only guard.</summary>
    public const string BearerTokenSetting = "HealthEvents:Metrics:BearerToken";

    /// <summary>Port 9464: the Prometheus exporter's default in the OpenTelemetry specification.</summary>
    public const string DefaultUrl = "http://127.0.0.1:9464";

    /// <summary>
    /// Adds the management addresses to the node's listeners (after its public URLs are set: Kestrel then binds both).
    /// </summary>
    /// <exception cref="InvalidOperationException">A management address is unreadable, has no port or port 0, or shares a public address's port.</exception>
    public static void AddMetricsListener(this WebApplicationBuilder builder)
    {
        if (!Observability.IsPrometheusOn(builder.Configuration)) return;
        var publicUrls = Split(builder.Configuration["urls"] is { Length: > 0 } urls ? urls : builder.Configuration["ASPNETCORE_URLS"]);
        var metricsUrls = Split(builder.Configuration[UrlsSetting] is { Length: > 0 } configured ? configured : DefaultUrl);
        var publicPorts = publicUrls.Select(u => Port(u, "urls")).ToHashSet();
        foreach (var url in metricsUrls)
        {
            var port = Port(url, UrlsSetting);
            if (port == 0 || publicPorts.Contains(port))
                throw new InvalidOperationException(
                    $"{UrlsSetting} needs a port of its own: {url} has {(port == 0 ? "port 0" : "the port of a public address")}; /metrics is told apart by its port.");
        }
        builder.WebHost.UseUrls([.. publicUrls, .. metricsUrls]);
    }

    /// <summary>
    /// Answers every request that arrived on a management address: <c>/metrics</c> (after the token check), else 404. Put
    /// it first in the pipeline, so such a request meets nothing of the API (authentication, rate limits, endpoints).
    /// </summary>
    public static void UseMetricsListener(this WebApplication app)
    {
        if (!Observability.IsPrometheusOn(app.Configuration)) return;
        var ports = Split(app.Configuration[UrlsSetting] is { Length: > 0 } configured ? configured : DefaultUrl)
            .Select(u => Port(u, UrlsSetting)).ToHashSet();
        var token = app.Configuration[BearerTokenSetting] is { Length: > 0 } t ? SHA256.HashData(Encoding.UTF8.GetBytes(t)) : null;
        app.MapWhen(http => ports.Contains(http.Connection.LocalPort), listener => listener
            .Use(async (http, next) =>
            {
                if (!http.Request.Path.Equals(Observability.PrometheusPath, StringComparison.Ordinal))
                {
                    await TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status404NotFound, "Not found",
                        $"This listener serves only GET {Observability.PrometheusPath}.", "not-found")).ExecuteAsync(http);
                    return;
                }
                if (token is not null && !Presents(http.Request, token))
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                    await TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status401Unauthorized, "Metrics token required",
                        $"Scraping needs the bearer token set in {BearerTokenSetting}.", "metrics-token-required")).ExecuteAsync(http);
                    return;
                }
                await next(http);
            })
            .UseOpenTelemetryPrometheusScrapingEndpoint(Observability.PrometheusPath));
    }

    /// <summary>Whether the request's Authorization header is <c>Bearer &lt;the token&gt;</c> (the scheme in any case, RFC 9110 §11.1), compared in fixed time.</summary>
    private static bool Presents(HttpRequest request, byte[] tokenHash) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
        && string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
        && header.Parameter is { Length: > 0 } presented
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), tokenHash);

    private static string[] Split(string? urls) =>
        (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The port of a listening address as Kestrel reads it (<c>http://*:9464</c>, <c>http://[::1]:9464</c>, …).</summary>
    private static int Port(string url, string setting)
    {
        try
        {
            var address = BindingAddress.Parse(url);
            return url.Contains("://", StringComparison.Ordinal) && !address.IsUnixPipe && !address.IsNamedPipe ? address.Port
                : throw new FormatException("not an http(s) address with a port");
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException($"{setting}: '{url}' is not a listening address ({e.Message}).", e);
        }
    }
}
