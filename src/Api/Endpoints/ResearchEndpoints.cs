using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Research;
using HealthEvents.Domain.Common;
using HealthEvents.Projections.Research;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// Research projections for registered researchers: declare one, then read its status, progress and k-anonymous rows.
/// Rows are served only after the publication (who they counted) is recorded in the research stream, from which each
/// counted patient's audit shows a research use. The researcher never sees a patient or a pseudonym.
/// </summary>
public static class ResearchEndpoints
{
    /// <param name="K">Minimum patients per published cell; default 5, at least 2.</param>
    public sealed record DeclareResearchProjectionRequest(string Name, ResearchFilterInput? Filter, IReadOnlyList<string>? GroupBy, int? K);

    public static IEndpointRouteBuilder MapResearchEndpoints(this IEndpointRouteBuilder app)
    {
        var research = app.MapGroup("/research/projections").WithTags("Research").RequireAuthorization();
        research.MapPost("/", Declare);
        research.MapGet("/{name}", Get);
        return app;
    }

    public static async Task<Results<Created<ResearchProjectionDeclaredResult>, ProblemHttpResult>> Declare(
        DeclareResearchProjectionRequest body, HttpContext http, IMediator mediator, ResearchQuery research, CancellationToken ct)
    {
        if (http.Actor().Role != Role.Researcher) return Forbidden("Only researchers declare research projections.");
        var result = await mediator.Send(new DeclareResearchProjectionCommand(body.Name, body.Filter, body.GroupBy, body.K, http.Command()), ct);
        await research.StartAsync(result.Name, ct); // building starts now, on this node
        return TypedResults.Created($"/research/projections/{result.Name}", result);
    }

    public static async Task<Results<Ok<ResearchProjectionView>, ProblemHttpResult>> Get(
        string name, HttpContext http, IMediator mediator, ResearchQuery research, CancellationToken ct)
    {
        var actor = http.Actor();
        if (actor.Role != Role.Researcher) return Forbidden("Only researchers read research projections.");
        if (await research.FindAsync(name, ct) is not { } definition) return NotFound();
        // Consents admitting patients are granted to this researcher (or their organisation, or the role): the rows are theirs.
        if (!string.Equals(definition.ResearcherId, actor.Id, StringComparison.Ordinal))
            return Forbidden("Only the researcher who declared a research projection reads it.");

        if (await research.GetAsync(name, ct) is not { } result) return NotFound();
        // Recorded before it is served: no published number without the patients' audit knowing.
        if (result.Digest is { } digest)
            await mediator.Send(new PublishResearchResultsCommand(definition.Name, digest, result.Uses, http.Command()), ct);
        return TypedResults.Ok(result.View);
    }

    private static ProblemHttpResult NotFound() =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status404NotFound, "Not found",
            "No research projection has this name.", "research-projection-not-found"));

    private static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden", detail, "forbidden"));
}
