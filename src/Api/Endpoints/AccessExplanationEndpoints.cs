using HealthEvents.Api.Auth;
using HealthEvents.Application.Patients;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>"Why can or can't they see it?" — the decision the domain would make now, and why.</summary>
public static class AccessExplanationEndpoints
{
    public static RouteGroupBuilder MapAccessExplanation(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/access/explain", Explain);
        return patients;
    }

    /// <summary>
    /// GET /patients/{id}/access/explain?grantee=&amp;granteeRole=&amp;granteeHospital=&amp;purpose=&amp;category=…: the patient
    /// asks about a practitioner or researcher (grantee, by id) or anyone of a role at a hospital; a practitioner asks about
    /// themselves (no grantee) and the question is recorded (access-explained on the trail). category repeats or holds a
    /// comma-separated list; "all" is every general category. 200 with <see cref="AccessExplanationView"/>; 400 for a
    /// missing or unknown purpose, category or grantee; 403 for anyone else; 404 (a practitioner) for an unknown patient.
    /// </summary>
    public static async Task<Ok<AccessExplanationView>> Explain(
        Guid id, string? grantee, string? granteeRole, string? granteeHospital, string? purpose, string[]? category,
        HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var categories = category?.SelectMany(c => c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        return TypedResults.Ok(await mediator.Send(
            new ExplainAccessQuery(id, grantee, granteeRole, granteeHospital, purpose, categories, http.Command()), ct));
    }
}
