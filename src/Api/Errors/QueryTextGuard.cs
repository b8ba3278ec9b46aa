using HealthEvents.Application.Commands;

namespace HealthEvents.Api.Errors;

/// <summary>
/// The text rule (<see cref="TextRules"/>) for what comes before the body, before any endpoint sees it: a path or a query
/// parameter holding a control character or a lone surrogate (`?actor=%00`) is a 400 naming it, never a failure in
/// the database; a body in another character set than UTF-8 is a 415.
/// </summary>
public static class QueryTextGuard
{
    public static IApplicationBuilder UseQueryTextGuard(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (TextRules.Problem(http.Request.Path.Value, narrative: false) is { } pathProblem)
        {
            await TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["path"] = [pathProblem] },
                detail: "The path is not acceptable text; nothing was read or recorded.",
                type: "https://healthevents.example/problems/invalid-path", title: "Invalid path").ExecuteAsync(http);
            return;
        }
        // JSON is UTF-8 (RFC 8259); another declared charset cannot be read, and is said so rather than failing.
        if (http.Request.ContentType is { } contentType
            && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
            && media.Charset.HasValue && !string.Equals(media.Charset.Value.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase))
        {
            await TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported character set",
                "Request bodies are JSON in UTF-8 (charset=utf-8, or no charset).", "unsupported-charset")).ExecuteAsync(http);
            return;
        }
        foreach (var (name, values) in http.Request.Query)
        {
            var problem = TextRules.Problem(name, narrative: false)
                          ?? values.Select(v => TextRules.Problem(v, narrative: false)).FirstOrDefault(p => p is not null);
            if (problem is null) continue;
            var field = TextRules.Problem(name, narrative: false) is null ? name : "query";
            await TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] },
                detail: "A query parameter is not acceptable text; nothing was read or recorded.",
                type: "https://healthevents.example/problems/invalid-query", title: "Invalid query").ExecuteAsync(http);
            return;
        }
        await next(http);
    });
}
