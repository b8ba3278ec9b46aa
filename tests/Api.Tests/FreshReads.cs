using HealthEvents.Api.Endpoints;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Reads of a patient's views that must show what was just written. The service waits up to two seconds for a view to
/// apply the patient's last event and otherwise answers with <c>X-View-Behind</c>; on a busy machine that can happen,
/// so such a read is asked again, within <see cref="Patience.Deadline"/>, until the view has caught up.
/// </summary>
public static class FreshReads
{
    public static Task<HttpResponseMessage> GetFreshAsync(this HttpClient client, string url) =>
        client.SendFreshAsync(() => new HttpRequestMessage(HttpMethod.Get, url));

    public static async Task<HttpResponseMessage> SendFreshAsync(this HttpClient client, Func<HttpRequestMessage> request)
    {
        var deadline = DateTime.UtcNow + Patience.Deadline;
        while (true)
        {
            using var message = request();
            var response = await client.SendAsync(message);
            if (!response.Headers.Contains(ReadYourWrites.BehindHeader) || DateTime.UtcNow > deadline) return response;
            response.Dispose();
            await Task.Delay(200);
        }
    }
}
