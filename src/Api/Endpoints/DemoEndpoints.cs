using HealthEvents.Api.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// GET /demo/patients: the demo patients and their tokens, for the page's "sign in as a demo patient". Mapped only
/// on a node that seeded the demo (HealthEvents:SeedDemo), whose tokens are already written to {data}/demo/tokens.json;
/// a real deployment turns the demo off and this route does not exist.
/// </summary>
public static class DemoEndpoints
{
    public sealed record DemoPatientView(string Name, Guid PatientId, string Hospital, string Token);

    public static IEndpointRouteBuilder MapDemoEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/demo/patients", Patients).WithTags("Demo").AllowAnonymous();
        return app;
    }

    public static Ok<IReadOnlyList<DemoPatientView>> Patients(DemoSeeder seeder) =>
        TypedResults.Ok<IReadOnlyList<DemoPatientView>>([.. seeder.IssuedTokens
            .Where(t => t.PatientId is not null)
            .Select(t => new DemoPatientView(t.Name, t.PatientId!.Value, t.Hospital, t.Token))]);
}
