using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// Changing the network, for hospital admins only: their own practitioners and keys, researchers, and proposals (admission,
/// endorsement policy, membership policy) that take effect once approvals satisfy the membership policy.
/// </summary>
public static class NetworkGovernanceEndpoints
{
    public sealed record RegisterPractitionerRequest(string PractitionerId, string Role);

    public sealed record RegisterResearcherRequest(string ResearcherId, string Organisation);

    /// <param name="Kind">admit-hospital, endorsement-policy or membership-policy.</param>
    public sealed record ProposeChangeRequest(Guid? ProposalId, string Kind, HospitalInput? Hospital, string? Policy);

    public sealed record ProposalView(Guid ProposalId, string Kind, HospitalAdmission? Hospital, string? Policy, string ProposedBy,
        IReadOnlyList<string> ApprovedBy, bool Enacted);

    public sealed record ProposalsView(IReadOnlyList<ProposalView> Proposals, string MembershipPolicy);

    /// <param name="Use">identity or endorsement; the new key takes over at once.</param>
    public sealed record RotateKeyRequest(string Use);

    public static IEndpointRouteBuilder MapNetworkGovernance(this IEndpointRouteBuilder app)
    {
        var network = app.MapGroup("/network").WithTags("Network").RequireAuthorization().AddEndpointFilter(AdminsOnly);
        network.MapPost("/practitioners", RegisterPractitioner);
        network.MapDelete("/practitioners/{practitionerId}", DeregisterPractitioner);
        network.MapPost("/researchers", RegisterResearcher);
        network.MapPost("/proposals", Propose);
        network.MapPost("/proposals/{proposalId:guid}/approvals", Approve);
        network.MapGet("/proposals", Proposals);
        network.MapPost("/hospitals/{hospitalId}/keys", RotateKey);
        return app;
    }

    public static async Task<Created<PractitionerRegisteredResult>> RegisterPractitioner(
        RegisterPractitionerRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new RegisterPractitionerCommand(body.PractitionerId, body.Role, http.Command()), ct);
        return TypedResults.Created($"/network/practitioners/{Uri.EscapeDataString(result.PractitionerId)}", result);
    }

    public static async Task<Ok<Receipt>> DeregisterPractitioner(string practitionerId, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new DeregisterPractitionerCommand(practitionerId, http.Command()), ct));

    public static async Task<Created<ResearcherRegisteredResult>> RegisterResearcher(
        RegisterResearcherRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new RegisterResearcherCommand(body.ResearcherId, body.Organisation, http.Command()), ct);
        return TypedResults.Created($"/network/researchers/{Uri.EscapeDataString(result.ResearcherId)}", result);
    }

    public static async Task<Created<NetworkChangeResult>> Propose(ProposeChangeRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new ProposeNetworkChangeCommand(body.ProposalId, body.Kind, body.Hospital, body.Policy, http.Command()), ct);
        return TypedResults.Created($"/network/proposals/{result.ProposalId}", result);
    }

    public static async Task<Created<KeyRotatedResult>> RotateKey(string hospitalId, RotateKeyRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new RotateHospitalKeyCommand(hospitalId, body.Use, http.Command()), ct);
        return TypedResults.Created($"/network", result);
    }

    public static async Task<Ok<NetworkChangeResult>> Approve(Guid proposalId, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new ApproveNetworkChangeCommand(proposalId, http.Command()), ct));

    /// <summary>Open proposals first, then enacted ones; each in the order they were made.</summary>
    public static Ok<ProposalsView> Proposals(NetworkDirectory directory)
    {
        var network = directory.Current;
        return TypedResults.Ok(new ProposalsView(
            network.Proposals.Values.OrderBy(p => p.Enacted).ThenBy(p => p.Number)
                .Select(p => new ProposalView(p.Id, KebabCase.Of(p.Change.Kind), p.Change.Hospital, p.Change.Policy, p.ProposedBy, p.ApprovedBy, p.Enacted))
                .ToList(),
            network.MembershipPolicy));
    }

    /// <summary>Checked before the command is validated or decided: a non-admin's request is refused whatever it holds.</summary>
    private static async ValueTask<object?> AdminsOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Actor().Role == Role.Admin
            ? await next(context)
            : TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden",
                "Only a hospital admin may change the network.", "admin-required"));
}
