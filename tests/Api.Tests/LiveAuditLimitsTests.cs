using System.Net;
using HealthEvents.Domain.Common;

namespace HealthEvents.Api.Tests;

/// <summary>
/// What keeps live audit streams cheap and honest: a bound per patient, heartbeats when quiet, a refused resume point,
/// an end with the token that opened the stream, and a clean end when the service stops.
/// </summary>
public sealed class LiveAuditLimitsTests : IAsyncLifetime
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");
    private static readonly Guid Bob = Guid.Parse("b0b00000-0000-4000-8000-000000000002");
    private ServiceHost? _host;
    private ServiceHost Host => _host!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(),
        "--HealthEvents:LiveAudit:MaxStreamsPerPatient=2", "--HealthEvents:LiveAudit:Heartbeat=00:00:00.200");

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    [Fact]
    public async Task Streams_are_bounded_per_patient_beat_when_quiet_and_end_cleanly_when_the_service_stops()
    {
        var alice = Host.As("alice (patient)");
        var (first, _) = await LiveStream.OpenAsync(alice, Alice);
        var (second, _) = await LiveStream.OpenAsync(alice, Alice);
        await using var _ = first;

        // A third for the same patient is refused, saying when to come back; another patient is not affected.
        using (var third = await LiveStream.RequestAsync(alice, Alice))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Equal("too-many-live-streams", (await third.JsonAsync()).GetProperty("code").GetString());
        }
        var (bob, _) = await LiveStream.OpenAsync(Host.As("bob (patient)"), Bob);
        await using (bob) Assert.Equal("heartbeat", (await bob.NextAsync()).EventType);

        // A closed stream frees its place (once the service has noticed the client left).
        await second.DisposeAsync();
        var deadline = DateTime.UtcNow + HealthEvents.TestSupport.Patience.Deadline;
        HttpResponseMessage reopened;
        while ((reopened = await LiveStream.RequestAsync(alice, Alice)).StatusCode == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline)
        {
            reopened.Dispose();
            await Task.Delay(100);
        }
        using (reopened) Assert.Equal(HttpStatusCode.OK, reopened.StatusCode);

        // Stopping the service ends the open stream as a complete response, not a cut connection.
        var ended = first.EndsAsync();
        await Host.DisposeAsync();
        _host = null;
        Assert.True(await ended);
    }

    [Fact]
    public async Task A_stream_ends_with_its_token_and_a_foreign_resume_point_is_refused()
    {
        // A token with seconds to live (minted just now): the stream ends when it expires, and the same token opens none after.
        var shortLived = Host.Client(Host.Mint("northside", "alice", Role.Patient, Alice, lifetime: TimeSpan.FromSeconds(10)));
        var (live, _) = await LiveStream.OpenAsync(shortLived, Alice);
        await using (live) Assert.True(await live.EndsAsync());
        using (var after = await LiveStream.RequestAsync(shortLived, Alice))
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);

        using var bad = await LiveStream.RequestAsync(Host.As("alice (patient)"), Alice, lastEventId: "not-an-event-id");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid-last-event-id", (await bad.JsonAsync()).GetProperty("code").GetString());
    }
}
