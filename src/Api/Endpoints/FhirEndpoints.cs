using System.Text;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Fhir;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// FHIR R4 in and out. POST /fhir imports a Bundle holding one Patient and their record (see <see cref="ImportPlan"/>);
/// GET /fhir/Patient/{id}/$everything gives it back as a searchset Bundle, as an access like any other. Every error on
/// these routes is an OperationOutcome (<see cref="FhirOutcomeWriter"/>).
/// </summary>
public static class FhirEndpoints
{
    /// <summary>The FHIR route's own body limit: a patient's history is larger than any other request.</summary>
    public const long MaxBundleBytes = 8 * 1024 * 1024;

    /// <summary>The name of each hospital's secret that keys its FHIR patients' ids (<see cref="ImportPlan.PatientIdOf"/>).</summary>
    public const string PatientIdSecret = "fhir-patient-ids";

    /// <summary>At most this many validation issues are listed in a refusal (the count says how many there were).</summary>
    public const int MaxIssuesListed = 100;

    public static IEndpointRouteBuilder MapFhirEndpoints(this IEndpointRouteBuilder app)
    {
        var fhir = app.MapGroup("/fhir").WithTags("FHIR").RequireAuthorization();
        fhir.MapPost("/", Import).WithMetadata(new RequestSizeLimitAttribute(MaxBundleBytes));
        fhir.MapGet("/Patient/{id:guid}/$everything", Everything);
        return app;
    }

    /// <summary>The answer of an import (200).</summary>
    /// <param name="Resources">Resources mapped to entries (added or already present).</param>
    /// <param name="Imported">Those resources by type.</param>
    /// <param name="Skipped">Resources not imported, by type (with the reason when the type itself is mapped).</param>
    /// <param name="Warnings">Validation warnings (unresolvable profiles and extensions, best practices), grouped.</param>
    public sealed record ImportSummary(
        Guid PatientId, bool Registered, int Resources, int Added, int AlreadyPresent, IReadOnlyList<ResourceCount> Imported, IReadOnlyList<ResourceCount> Skipped,
        IReadOnlyList<ValidationWarning> Warnings, IReadOnlyList<Receipt> Receipts);

    /// <summary>How many resources of a type (for skipped ones: of a type, or a type and the reason).</summary>
    public sealed record ResourceCount(string Type, int Count);

    public sealed record ValidationWarning(string Code, string Message, int Count);

    public static async Task<Results<Ok<ImportSummary>, ContentHttpResult>> Import(
        HttpContext http, IMediator mediator, HospitalKeyring keyring, CancellationToken ct)
    {
        // Only clinicians write entries (the decider's rule): anyone else is refused before a byte is parsed or validated.
        var actor = http.Actor();
        if (!actor.IsClinician())
            return FhirOutcome.Error(StatusCodes.Status403Forbidden, "forbidden", "Only a hospital's clinicians import records.", "write-not-permitted");
        var mediaType = http.Request.ContentType is { } type ? type.Split(';')[0].Trim() : null;
        if (mediaType is not (FhirOutcome.ContentType or "application/json"))
            return FhirOutcome.Error(StatusCodes.Status415UnsupportedMediaType, "not-supported", "The body must be a FHIR R4 Bundle in JSON (application/fhir+json).");
        ParsedBundle parsed;
        try
        {
            string json;
            using (var reader = new StreamReader(http.Request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true)))
                json = await reader.ReadToEndAsync(ct);
            parsed = ParsedBundle.Parse(json);
        }
        catch (DecoderFallbackException) { return FhirOutcome.Error(400, "invalid", "The body is not UTF-8."); }
        catch (BundleException e) { return FhirOutcome.Error(400, e.IssueCode, e.Message); }

        // Against the base R4 profiles, before anything is decided: a bundle with errors is refused whole.
        var issues = await FhirValidation.Shared.ValidateAsync(parsed.Model, ct);
        if (issues.Count(i => i.IsError) is var errors and > 0)
            return FhirOutcome.Answer(400, [new FhirIssue("error", "invalid",
                $"The bundle does not conform to the base FHIR R4 profiles ({errors} error{(errors == 1 ? "" : "s")}); nothing was imported."),
                .. issues.Take(MaxIssuesListed)]);

        ImportPlan plan;
        try { plan = ImportPlan.Of(parsed, actor.Hospital, keyring.Secret(actor.Hospital, PatientIdSecret)); }
        catch (BundleException e) { return FhirOutcome.Error(400, e.IssueCode, e.Message); }
        // Rule refusals (403, 404, 409…) and failures (503) reach the exception handler, written as OperationOutcomes.
        var result = await mediator.Send(new ImportPatientRecordCommand(plan.PatientId, plan.Registration, plan.Entries, http.Command()), ct);
        return TypedResults.Ok(new ImportSummary(result.PatientId, result.Registered, plan.Entries.Count, result.Added, result.AlreadyPresent,
            [.. plan.Imported.Select(p => new ResourceCount(p.Key, p.Value))], [.. plan.Skipped.Select(p => new ResourceCount(p.Key, p.Value))],
            [.. issues.GroupBy(i => (i.Code, i.Diagnostics)).Select(g => new ValidationWarning(g.Key.Code, g.Key.Diagnostics, g.Count()))],
            result.Receipts));
    }

    /// <summary>
    /// The patient's imported resources as a searchset Bundle (<see cref="FhirEverything"/>): an access for treatment to every
    /// category an import fills, decided, endorsed and recorded like POST /patients/{id}/access, released per category by the
    /// consents in force (all of it to the patient). Refused: 403 with the reason, and the denial is on the patient's trail.
    /// </summary>
    public static async Task<ContentHttpResult> Everything(Guid id, HttpContext http, IMediator mediator, IClock clock, CancellationToken ct)
    {
        var outcome = await mediator.Send(new RequestAccessCommand(id, KebabCase.Of(Purpose.Treatment),
            [.. FhirCategories.Imported.Select(c => KebabCase.Of(c))], http.Command()), ct);
        if (!outcome.Granted)
            return FhirOutcome.Error(StatusCodes.Status403Forbidden, "forbidden", outcome.Reason ?? "Access denied.", "access-denied");
        var self = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}";
        return TypedResults.Text(FhirEverything.Bundle(self, outcome.Entries, outcome.CategoriesReleased, clock.UtcNow),
            FhirOutcome.ContentType, Encoding.UTF8, StatusCodes.Status200OK);
    }
}
