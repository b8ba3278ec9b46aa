using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// What the FHIR routes speak: FHIR JSON only (R4 http.html#mime-type), UTF-8, uncompressed.
/// <list type="bullet">
/// <item>An answer in anything else is refused up front: <c>Accept</c> without a JSON type (application/fhir+json,
/// application/json, application/json+fhir, or a wildcard), or <c>_format</c> other than json → 406.</item>
/// <item>A body: <c>Content-Type</c> application/fhir+json or application/json, matched case-insensitively, charset UTF-8 if
/// given → else 415; <c>Content-Encoding</c> other than identity → 415 (nothing here inflates a body, and a compressed body
/// would slip past the route's size limit); a UTF-8 byte order mark is accepted and skipped.</item>
/// </list>
/// </summary>
public static class FhirNegotiation
{
    /// <summary>The FHIR query parameter that names the answer's format (R4 http.html#mime-type).</summary>
    public const string FormatParameter = "_format";

    private static readonly string[] JsonTypes = ["application/fhir+json", "application/json", "application/json+fhir"];

    /// <summary>The group's endpoint filter: 406 before the endpoint runs when the caller accepts no FHIR JSON.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        if (request.Query.TryGetValue(FormatParameter, out var formats) && formats.Any(f => !IsJsonFormat(f)))
            return NotAcceptable("_format");
        if (request.Headers.Accept.Count > 0
            && (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted) || !accepted.Any(Accepts)))
            return NotAcceptable("Accept");
        return await next(context);
    }

    /// <summary>Why the request's body cannot be read as FHIR JSON (a 415), or null.</summary>
    public static ContentHttpResult? RefuseBody(HttpRequest request)
    {
        if (request.Headers.ContentEncoding.Any(e => e is not null && e.Split(',').Any(v => !v.Trim().Equals("identity", StringComparison.OrdinalIgnoreCase))))
            return Unsupported("The body must not be compressed (Content-Encoding: identity only).");
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !JsonTypes.Any(t => type.MediaType.Equals(t, StringComparison.OrdinalIgnoreCase)))
            return Unsupported("The body must be a FHIR R4 Bundle in JSON (application/fhir+json).");
        if (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            return Unsupported("The body must be UTF-8 (charset=utf-8, or none).");
        return null;
    }

    /// <summary>The body as text: strict UTF-8 (a byte that is not throws <see cref="DecoderFallbackException"/>), a leading BOM skipped.</summary>
    public static async Task<string> ReadUtf8Async(HttpRequest request, CancellationToken ct)
    {
        // No byte-order-mark detection: a UTF-16 or UTF-32 mark would switch the decoding away from UTF-8.
        using var reader = new StreamReader(request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
        var text = await reader.ReadToEndAsync(ct);
        return text.StartsWith('\uFEFF') ? text[1..] : text;
    }

    private static bool IsJsonFormat(string? format) =>
        format is not null && (format.Equals("json", StringComparison.OrdinalIgnoreCase)
                               || JsonTypes.Any(t => format.Split(';')[0].Trim().Equals(t, StringComparison.OrdinalIgnoreCase)));

    private static bool Accepts(MediaTypeHeaderValue range) =>
        range.Quality != 0
        && (range.MatchesAllTypes || (range.MatchesAllSubTypes && range.Type.Equals("application", StringComparison.OrdinalIgnoreCase))
            || JsonTypes.Any(t => range.MediaType.Equals(t, StringComparison.OrdinalIgnoreCase)));

    private static ContentHttpResult NotAcceptable(string what) =>
        FhirOutcome.Answer(StatusCodes.Status406NotAcceptable, [new FhirIssue("error", "not-supported",
            "This server answers FHIR in JSON only (application/fhir+json).", [what])]);

    private static ContentHttpResult Unsupported(string message) =>
        FhirOutcome.Error(StatusCodes.Status415UnsupportedMediaType, "not-supported", message);
}
