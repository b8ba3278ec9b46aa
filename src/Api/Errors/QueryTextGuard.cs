using HealthEvents.Application.Commands;

namespace HealthEvents.Api.Errors;

/// <summary>
/// The text rule (<see cref="TextRules"/>) for query strings, before any endpoint sees them: a parameter holding a control
/// character or a lone surrogate (`?actor=%00`) is a 400 naming the parameter, never a failure in the database.
/// </summary>
public static class QueryTextGuard
{
    public static IApplicationBuilder UseQueryTextGuard(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
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
