using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>The patient stream's commands. Each answers with its receipt; a rejected command appends nothing.</summary>
public static class PatientCommandEndpoints
{
    public static RouteGroupBuilder MapPatientCommands(this RouteGroupBuilder patients)
    {
        patients.MapPost("/", Register);
        patients.MapPost("/{id:guid}/entries", AddEntry);
        patients.MapPost("/{id:guid}/entries/{entryId:guid}/amendments", Amend);
        patients.MapPost("/{id:guid}/entries/{entryId:guid}/retraction", Retract);
        patients.MapPost("/{id:guid}/consents", Grant);
        patients.MapDelete("/{id:guid}/consents/{consentId:guid}", Revoke);
        patients.MapPost("/{id:guid}/consents/{consentId:guid}/narrow", Narrow);
        patients.MapPost("/{id:guid}/access", Access);
        patients.MapPost("/{id:guid}/emergency-access", Emergency);
        patients.MapPut("/{id:guid}/insurance", LinkInsurance);
        patients.MapDelete("/{id:guid}/insurance", EndInsurance);
        patients.MapPost("/{id:guid}/forget", Forget);
        return patients;
    }

    public static async Task<Created<PatientRegisteredResult>> Register(RegisterPatientRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new RegisterPatientCommand(body.PatientId, body.HomeHospital, body.BirthYear, body.Sex, body.Name, http.Command()), ct);
        return TypedResults.Created($"/patients/{result.PatientId}", result);
    }

    public static async Task<Created<EntryAddedResult>> AddEntry(Guid id, AddEntryRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new AddRecordEntryCommand(id, body.EntryId, body.Category, body.Code, body.Text, body.RecordedAt, http.Command()), ct);
        return TypedResults.Created($"/patients/{id}/entries/{result.EntryId}", result);
    }

    public static async Task<Ok<Receipt>> Amend(Guid id, Guid entryId, AmendEntryRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new AmendRecordEntryCommand(id, entryId, body.Text, body.Reason, http.Command()), ct));

    public static async Task<Ok<Receipt>> Retract(Guid id, Guid entryId, RetractEntryRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new RetractRecordEntryCommand(id, entryId, body.Reason, http.Command()), ct));

    public static async Task<Created<ConsentGrantedResult>> Grant(Guid id, GrantConsentRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new GrantConsentCommand(id, body.ConsentId, body.Grantee, body.Categories, body.Purposes,
            body.Actions, body.ValidFrom, body.ValidUntil, http.Command(), http.PatientSignature()), ct);
        return TypedResults.Created($"/patients/{id}/consents/{result.ConsentId}", result);
    }

    public static async Task<Ok<Receipt>> Revoke(Guid id, Guid consentId, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new RevokeConsentCommand(id, consentId, http.Command(), http.PatientSignature()), ct));

    /// <summary>Fewer categories, purposes or actions, or an earlier end: never wider (400 <c>narrowing-widens</c>), never the same (400 <c>narrowing-unchanged</c>).</summary>
    public static async Task<Ok<Receipt>> Narrow(Guid id, Guid consentId, NarrowConsentRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new NarrowConsentCommand(id, consentId, body.Categories, body.Purposes, body.Actions, body.ValidUntil, http.Command(), http.PatientSignature()), ct));

    public static async Task<Results<Ok<AccessOutcome>, ProblemHttpResult>> Access(Guid id, AccessRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        AccessResult(await mediator.Send(new RequestAccessCommand(id, body.Purpose, body.Categories, http.Command()), ct));

    public static async Task<Results<Ok<AccessOutcome>, ProblemHttpResult>> Emergency(Guid id, EmergencyAccessRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        AccessResult(await mediator.Send(new UseEmergencyAccessCommand(id, body.Reason, http.Command()), ct));

    public static async Task<Ok<Receipt>> LinkInsurance(Guid id, InsuranceRequest body, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new LinkInsuranceCommand(id, body.Insurer, body.PolicyReference, body.ValidFrom, body.ValidUntil, http.Command()), ct));

    public static async Task<Ok<Receipt>> EndInsurance(Guid id, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new EndInsuranceCommand(id, http.Command()), ct));

    public static async Task<Ok<Receipt>> Forget(Guid id, HttpContext http, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new ForgetPatientCommand(id, http.Command(), http.PatientSignature()), ct));

    /// <summary>A denial is recorded (it has a receipt) and answered 403 with its reason.</summary>
    private static Results<Ok<AccessOutcome>, ProblemHttpResult> AccessResult(AccessOutcome outcome)
    {
        if (outcome.Granted) return TypedResults.Ok(outcome);
        var problem = ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Access denied",
            outcome.Reason ?? "Access denied.", "access-denied");
        problem.Extensions["accessId"] = outcome.AccessId;
        problem.Extensions["receipt"] = outcome.Receipt;
        return TypedResults.Problem(problem);
    }
}

// The HTTP shapes of the contract (docs/architecture.md, "The HTTP contract"). Unknown fields are refused by the JSON options.
public sealed record RegisterPatientRequest(Guid? PatientId, string HomeHospital, int BirthYear, string Sex, string Name);

public sealed record AddEntryRequest(Guid? EntryId, string Category, CodeInput Code, string Text, DateTimeOffset? RecordedAt);

public sealed record AmendEntryRequest(string Text, string Reason);

public sealed record RetractEntryRequest(string Reason);

public sealed record GrantConsentRequest(
    Guid? ConsentId, GranteeInput Grantee, IReadOnlyList<string> Categories, IReadOnlyList<string> Purposes,
    IReadOnlyList<string> Actions, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil);

/// <summary>What the consent keeps (an absent list keeps that part whole) and an earlier end; at least one of them.</summary>
public sealed record NarrowConsentRequest(
    IReadOnlyList<string>? Categories, IReadOnlyList<string>? Purposes, IReadOnlyList<string>? Actions, DateTimeOffset? ValidUntil);

public sealed record AccessRequest(string Purpose, IReadOnlyList<string> Categories);

public sealed record EmergencyAccessRequest(string Reason);

public sealed record InsuranceRequest(string Insurer, string PolicyReference, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil);
