using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Patients;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// The patient's device key (issue 12, point 7): enrolled by the patient's browser, replaced by the home hospital when
/// the device is lost, and from then on required to sign consent changes and forgetting (header Patient-Signature).
/// </summary>
public static class PatientDeviceKeyEndpoints
{
    /// <param name="PublicKey">base64 SubjectPublicKeyInfo of an ECDSA P-256 key.</param>
    /// <param name="SignedAt">When the device signed the enrolment statement.</param>
    /// <param name="Proof">The new key's own signature of its enrolment statement (base64, IEEE P1363).</param>
    /// <param name="Reason">Why the home hospital replaces the patient's key (required for a replacement).</param>
    public sealed record EnrolDeviceKeyRequest(string PublicKey, DateTimeOffset SignedAt, string Proof, string? Reason);

    public sealed record DeviceKeyView(string KeyId, string PublicKey);

    public static RouteGroupBuilder MapPatientDeviceKey(this RouteGroupBuilder patients)
    {
        patients.MapPost("/{id:guid}/device-key", Enrol);
        patients.MapGet("/{id:guid}/device-key", Get);
        return patients;
    }

    public static async Task<Created<DeviceKeyEnrolledResult>> Enrol(Guid id, EnrolDeviceKeyRequest body, HttpContext http, IMediator mediator, CancellationToken ct)
    {
        var result = await mediator.Send(new EnrolDeviceKeyCommand(id, body.PublicKey, body.SignedAt, body.Proof, body.Reason, http.Command()), ct);
        return TypedResults.Created($"/patients/{id}/device-key", result);
    }

    /// <summary>The enrolled key, from the write side (what the decider checks signatures against). The patient only.</summary>
    public static async Task<Results<Ok<DeviceKeyView>, ProblemHttpResult>> Get(Guid id, HttpContext http, PatientDirectory patients, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id))
            return TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden",
                "Only the patient reads their device key.", "forbidden"));
        var state = await patients.StateAsync(id, ct);
        // Another member's token for this id is not the patient (401 already); an unknown patient has no key either.
        return state is { DeviceKey: { } key } && state.IsThePatient(http.Actor())
            ? TypedResults.Ok(new DeviceKeyView(key.KeyId, key.PublicKey))
            : TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status404NotFound, "No device key",
                "No device key is enrolled: consent changes need no signature yet.", "no-device-key"));
    }
}
