using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A client of <c>GET /patients/{id}/audit/live</c> as any SSE client with a bearer token would read it: the response
/// parsed by .NET's own server-sent-events parser. Every read waits for a condition under a generous deadline.
/// </summary>
public sealed class LiveStream : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = HealthEvents.TestSupport.Patience.Deadline;
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;
    private readonly CancellationTokenSource _stop = new();

    private LiveStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _events = SseParser.Create(body).EnumerateAsync(_stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    /// <summary>Sends the request; the answer's status and headers, and its body unread (a stream never ends by itself).</summary>
    public static async Task<HttpResponseMessage> RequestAsync(HttpClient client, Guid patient, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/patients/{patient}/audit/live");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Opens the stream (asserting 200 and text/event-stream) and reads its first event, <c>ready</c>.</summary>
    public static async Task<(LiveStream Stream, SseItem<string> Ready)> OpenAsync(HttpClient client, Guid patient, string? lastEventId = null)
    {
        var response = await RequestAsync(client, patient, lastEventId);
        // The body of a refusal says why; a 200's body is the stream itself, never read whole.
        if (response.StatusCode != HttpStatusCode.OK)
            Assert.Fail($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = new LiveStream(response, await response.Content.ReadAsStreamAsync());
        var ready = await stream.NextAsync();
        Assert.Equal("ready", ready.EventType);
        return (stream, ready);
    }

    /// <summary>Waits until the audit view holds the patient's last event (the audit route answers without X-View-Behind).</summary>
    public static async Task AuditCaughtUpAsync(HttpClient patient, Guid id)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            using var page = await patient.GetAsync($"/patients/{id}/audit?limit=1");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            if (!page.Headers.Contains("X-View-Behind")) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The audit view did not catch up within {Deadline}.");
        }
    }

    /// <summary>The next event of any type.</summary>
    public async Task<SseItem<string>> NextAsync()
    {
        var next = _events.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(Deadline)) != next) throw new TimeoutException($"No event within {Deadline}.");
        Assert.True(await next, "The stream ended.");
        return _events.Current;
    }

    /// <summary>The next audit row (heartbeats skipped), with its event id.</summary>
    public async Task<(JsonElement Row, string Id, string Data)> NextRowAsync()
    {
        while (true)
        {
            var e = await NextAsync();
            if (e.EventType == "heartbeat") continue;
            Assert.Equal("audit", e.EventType);
            Assert.False(string.IsNullOrEmpty(e.EventId));
            return (JsonDocument.Parse(e.Data).RootElement.Clone(), e.EventId!, e.Data);
        }
    }

    /// <summary>
    /// Reads until the server ends the stream: true when it ended cleanly (the response completed), an exception when
    /// the connection was cut instead. Events meanwhile are skipped.
    /// </summary>
    public async Task<bool> EndsAsync()
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var next = _events.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, Task.Delay(deadline - DateTime.UtcNow)) != next) throw new TimeoutException($"The stream did not end within {Deadline}.");
            if (!await next) return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _events.DisposeAsync();
        }
        catch (OperationCanceledException)
        {
        }
        _response.Dispose();
        _stop.Dispose();
    }
}
