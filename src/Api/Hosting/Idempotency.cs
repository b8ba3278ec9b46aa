using System.Security.Cryptography;
using System.Text;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Ports;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// The Idempotency-Key header (IETF httpapi draft "The Idempotency-Key HTTP Header Field") on POST, PUT and DELETE:
/// a UUID, per caller. An exact retry (same key, method, path and body) answers what the first request answered — the
/// same status and body, a registration the same patient id — without deciding anything again; the key reused for
/// another request is a 422; a key that is not a UUID a 400; a retry while the first still runs a 409. The key's claim
/// (<see cref="IdempotencyClaim.Claimed"/>) names the command (RequestContext), so a retry after a lost answer is the
/// same command with the same event ids, and knows that an earlier attempt may have stored them.
/// The endpoint's own answers (2xx, and 4xx such as a recorded access denial) are kept for a day; failures (5xx, 429) and
/// refusals raised before anything was recorded (validation, rejections) are not, so a retry simply decides again.
/// </summary>
public static class Idempotency
{
    public const string Header = "Idempotency-Key";

    public static IApplicationBuilder UseIdempotencyKeys(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!HttpMethods.IsPost(http.Request.Method) && !HttpMethods.IsPut(http.Request.Method) && !HttpMethods.IsDelete(http.Request.Method)
            || !http.Request.Headers.TryGetValue(Header, out var values))
        {
            await next(http);
            return;
        }
        if (values.Count != 1 || !Guid.TryParseExact(values[0], "D", out var key))
        {
            await Refuse(http, 400, "Invalid Idempotency-Key", "The Idempotency-Key header is one UUID (8-4-4-4-12 hex digits).", "idempotency-key-invalid");
            return;
        }
        if (http.Caller()?.Key is not { } caller)
        {
            await next(http); // the endpoint answers 401; nothing to remember
            return;
        }
        var store = http.RequestServices.GetRequiredService<IIdempotencyStore>();
        var fingerprint = await FingerprintAsync(http.Request, http.RequestAborted);
        switch (await store.ClaimAsync(caller, key, fingerprint, http.RequestAborted))
        {
            case IdempotencyClaim.Claimed claimed:
                http.Features.Set(new IdempotencyKey(key, claimed)); // the command id derives from both (RequestContext)
                break;
            case IdempotencyClaim.Replay replay:
                http.Response.StatusCode = replay.Status;
                if (replay.ContentType is { } type) http.Response.ContentType = type;
                http.Response.Headers["Idempotent-Replayed"] = "true";
                await http.Response.Body.WriteAsync(replay.Body, http.RequestAborted);
                return;
            case IdempotencyClaim.Mismatch:
                await Refuse(http, 422, "Idempotency-Key reused", "This Idempotency-Key was used for another request; use a new key for a new request.",
                    "idempotency-key-reused");
                return;
            case IdempotencyClaim.InProgress:
                http.Response.Headers.RetryAfter = "1";
                await Refuse(http, 409, "Request in progress", "The first request with this Idempotency-Key is still running; retry shortly.",
                    "idempotency-key-in-progress");
                return;
        }

        // First use: run it, keeping a copy of the answer to give to exact retries.
        var original = http.Response.Body;
        using var copy = new MemoryStream();
        http.Response.Body = copy;
        var completed = false;
        try
        {
            await next(http);
            var status = http.Response.StatusCode;
            if (status is >= 200 and < 500 and not 429)
            {
                await store.CompleteAsync(caller, key, fingerprint, status, http.Response.ContentType, copy.ToArray(), CancellationToken.None);
                completed = true;
            }
        }
        finally
        {
            http.Response.Body = original;
            if (!completed) await store.ReleaseAsync(caller, key, CancellationToken.None);
            copy.Position = 0;
            await copy.CopyToAsync(original, CancellationToken.None);
        }
    });

    /// <summary>SHA-256 over method, path with query and body: what makes two requests "the same request".</summary>
    private static async Task<byte[]> FingerprintAsync(HttpRequest request, CancellationToken ct)
    {
        request.EnableBuffering();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method}\n{request.Path}{request.QueryString}\n"));
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, read);
        request.Body.Position = 0;
        return hash.GetHashAndReset();
    }

    private static Task Refuse(HttpContext http, int status, string title, string detail, string code) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(status, title, detail, code)).ExecuteAsync(http);
}
