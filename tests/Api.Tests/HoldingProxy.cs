using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A reverse proxy over real HTTP in front of the service that passes the first <c>passPosts</c> POST requests on and
/// holds the next one back until disposed (then it is dropped, never reaching the service). A test that must act
/// between two requests of a client (a Ctrl+C with some bundles imported and the rest not) then does not race the
/// client on a busy machine: <see cref="Holding"/> says the client is waiting on its next request.
/// </summary>
public sealed class HoldingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _service = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private int _posts;

    private HoldingProxy(WebApplication app) => _app = app;

    /// <summary>The proxy's address, to give the client instead of the service's.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Completes when a POST beyond the ones passed on arrived and is held.</summary>
    public Task Holding => _holding.Task;

    public static async Task<HoldingProxy> StartAsync(Uri service, int passPosts)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var proxy = new HoldingProxy(builder.Build());
        proxy._app.Run(http => proxy.ForwardAsync(http, service, passPosts));
        await proxy._app.StartAsync();
        proxy.Address = new Uri(proxy._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return proxy;
    }

    private async Task ForwardAsync(HttpContext http, Uri service, int passPosts)
    {
        if (HttpMethods.IsPost(http.Request.Method) && Interlocked.Increment(ref _posts) > passPosts)
        {
            _holding.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, http.RequestAborted).Token);
            }
            catch (OperationCanceledException)
            {
                http.Abort();
                return;
            }
        }
        using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), new Uri(service, http.Request.Path + http.Request.QueryString));
        if (http.Request.ContentLength is > 0 || http.Request.Headers.ContainsKey("Transfer-Encoding"))
            request.Content = new StreamContent(http.Request.Body);
        foreach (var (name, values) in http.Request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values)) request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        using var response = await _service.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
        http.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) http.Response.Headers[name] = values.ToArray();
        await response.Content.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _service.Dispose();
        _closing.Dispose();
    }
}
