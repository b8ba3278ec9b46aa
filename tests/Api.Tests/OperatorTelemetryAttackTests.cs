using System.Diagnostics;
using System.Net;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Findings of an operator's attack on issue 15's telemetry (branch otel-attack): the service was run with an OTLP/HTTP
/// collector and <c>/metrics</c> on, driven with marker text in every field a caller reaches, and every exported byte
/// searched. Each test here shows, with the in-memory exporter as ObservabilityTests does, a case where text the caller
/// chose reached what an operator's collector receives.
/// </summary>
public sealed class OperatorTelemetryAttackTests : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(), builder =>
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(new Locked<Activity>(_spans))));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>
    /// README, "Observability": "Text a caller chooses is not exported". An HTTP method is any RFC 9110 token (§9.1):
    /// Kestrel takes <c>ZEPHYRINA-QUXWELLINGTON-1931</c> as one and answers 405, and ASP.NET Core's server span records
    /// it verbatim as <c>http.request.method_original</c> (next to <c>http.request.method</c> <c>_OTHER</c>). Seen in an
    /// OTLP/HTTP capture from the real service; the redaction removes url.path, url.query and the user agent but not this.
    /// </summary>
    [Fact]
    public async Task A_caller_chosen_http_method_is_not_exported()
    {
        const string secret = "ZEPHYRINA-QUXWELLINGTON-1931";
        var doctor = _host.As("northside physician");
        ActivityTraceId trace;
        using (var client = new Activity("client") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            trace = client.TraceId;
            using var request = new HttpRequestMessage(new HttpMethod(secret), "/network");
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await doctor.SendAsync(request)).StatusCode);
        }

        // The server span ends a moment after its response reached the client: wait for it, then read every span of the trace.
        await Patience.UntilAsync(() => Task.FromResult(Ours(trace).Any(s => s.Kind == ActivityKind.Server)),
            () => "the request's server span was never exported");
        var leaks = Ours(trace).Where(s => s.Kind == ActivityKind.Server)
            .SelectMany(s => s.TagObjects.Where(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
                .Select(t => $"{s.DisplayName} {t.Key}"))
            .ToList();
        Assert.True(leaks.Count == 0, "The caller's method is exported in: " + string.Join("; ", leaks));
    }

    private List<Activity> Ours(ActivityTraceId trace)
    {
        lock (_spans) return _spans.Where(s => s.TraceId == trace).ToList();
    }
}
