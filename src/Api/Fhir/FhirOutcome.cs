using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace HealthEvents.Api.Fhir;

/// <summary>One issue of an OperationOutcome (FHIR R4 operationoutcome.html).</summary>
/// <param name="Severity">fatal | error | warning | information (FHIR issue-severity).</param>
/// <param name="Code">The FHIR issue-type code: invalid, structure, required, forbidden, not-found, too-long, …</param>
/// <param name="Diagnostics">Our own text, or a validator's with the instance's values masked: never the bundle's data.</param>
/// <param name="Expression">FHIRPath locations of the issue in the bundle (e.g. <c>Bundle.entry[3].resource[0].code[0]</c>).</param>
/// <param name="DetailCode">Our problem code (<c>https://healthevents.example/problems</c>) or the validator's issue number.</param>
public sealed record FhirIssue(string Severity, string Code, string Diagnostics, IReadOnlyList<string>? Expression = null, string? DetailCode = null)
{
    public bool IsError => Severity is "error" or "fatal";
}

/// <summary>
/// FHIR routes answer errors as OperationOutcome resources (<c>application/fhir+json</c>) with the usual status codes,
/// because FHIR clients expect them (FHIR R4 http.html#summary). Built as JSON directly: small, and only our own texts.
/// </summary>
public static class FhirOutcome
{
    public const string ContentType = HealthEvents.Api.Endpoints.FhirVocabulary.ContentType;
    public const string ProblemSystem = "https://healthevents.example/problems";

    /// <summary>An OperationOutcome answer with one error issue.</summary>
    public static ContentHttpResult Error(int status, string issueCode, string message, string? detailCode = null) =>
        Answer(status, [new FhirIssue("error", issueCode, message, null, detailCode)]);

    /// <summary>An OperationOutcome answer with these issues.</summary>
    public static ContentHttpResult Answer(int status, IEnumerable<FhirIssue> issues) =>
        TypedResults.Text(Resource(issues).ToJsonString(), ContentType, Encoding.UTF8, status);

    public static JsonObject Resource(IEnumerable<FhirIssue> issues)
    {
        var list = new JsonArray();
        foreach (var i in issues)
        {
            var issue = new JsonObject { ["severity"] = i.Severity, ["code"] = i.Code };
            if (i.DetailCode is not null)
                issue["details"] = new JsonObject
                {
                    ["coding"] = new JsonArray(new JsonObject { ["system"] = ProblemSystem, ["code"] = i.DetailCode }),
                };
            issue["diagnostics"] = i.Diagnostics;
            if (i.Expression is { Count: > 0 } expression) issue["expression"] = new JsonArray([.. expression.Select(e => (JsonNode)e)]);
            list.Add(issue);
        }
        return new JsonObject { ["resourceType"] = "OperationOutcome", ["issue"] = list };
    }

    /// <summary>The FHIR issue type (FHIR R4 valueset-issue-type) that best names an HTTP failure.</summary>
    public static string IssueCodeOf(int status) => status switch
    {
        400 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        413 => "too-long",
        406 or 415 => "not-supported",
        422 => "business-rule",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    };

    /// <summary>The issues of a problem-details answer: one per invalid field (its name as the expression), else one.</summary>
    public static IEnumerable<FhirIssue> IssuesOf(ProblemDetails problem)
    {
        var status = problem.Status ?? 500;
        var code = problem.Extensions.TryGetValue("code", out var c) && c is string s ? s
            : problem.Type?.Split('/').LastOrDefault() is { Length: > 0 } last && problem.Type.StartsWith(ProblemSystem, StringComparison.Ordinal) ? last : null;
        if (problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation)
            return validation.Errors.SelectMany(field => field.Value.Select(message =>
                new FhirIssue("error", IssueCodeOf(status), message, [field.Key], code)));
        return [new FhirIssue("error", IssueCodeOf(status), problem.Detail ?? problem.Title ?? "The request failed.", null, code)];
    }
}

/// <summary>
/// Writes every problem-details answer under <c>/fhir</c> — the exception handler's, status-code pages', an endpoint's —
/// as an OperationOutcome with the same status, so no refusal on a FHIR route (a 413 from the body limit, a 429 from fair
/// use, a 503 from endorsement) answers in a format FHIR clients do not read. Registered ahead of the default writer.
/// </summary>
public sealed class FhirOutcomeWriter : IProblemDetailsWriter
{
    public static bool IsFhirRoute(HttpContext http) => http.Request.Path.StartsWithSegments("/fhir", StringComparison.Ordinal);

    public bool CanWrite(ProblemDetailsContext context) => IsFhirRoute(context.HttpContext);

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var outcome = FhirOutcome.Resource(FhirOutcome.IssuesOf(context.ProblemDetails));
        http.Response.ContentType = FhirOutcome.ContentType;
        await http.Response.WriteAsync(outcome.ToJsonString(), Encoding.UTF8, http.RequestAborted);
    }
}
