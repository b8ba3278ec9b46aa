using System.Text;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Fhir;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// FHIR R4 in and out. POST /fhir imports a Bundle holding one Patient and their record (see <see cref="ImportPlan"/>)
/// and answers a transaction-response (<see cref="FhirImportAnswer"/>); GET /fhir/Patient/{id}/$everything gives it back
/// as a searchset Bundle, as an access like any other; GET /fhir/metadata is the CapabilityStatement. JSON only
/// (<see cref="FhirNegotiation"/>); every error on these routes is an OperationOutcome (<see cref="FhirOutcomeWriter"/>).
/// </summary>
public static class FhirEndpoints
{
    /// <summary>The FHIR route's own body limit: a patient's history is larger than any other request.</summary>
    public const long MaxBundleBytes = 8 * 1024 * 1024;

    /// <summary>The name of each hospital's secret that keys its FHIR patients' and entries' ids (<see cref="ImportPlan.PatientIdOf"/>).</summary>
    public const string PatientIdSecret = "fhir-patient-ids";

    /// <summary>At most this many validation issues are listed in a refusal (the count says how many there were).</summary>
    public const int MaxIssuesListed = 100;

    public static IEndpointRouteBuilder MapFhirEndpoints(this IEndpointRouteBuilder app)
    {
        var fhir = app.MapGroup("/fhir").WithTags("FHIR").RequireAuthorization().AddEndpointFilter(FhirNegotiation.Filter);
        fhir.MapPost("/", Import).WithMetadata(new RequestSizeLimitAttribute(MaxBundleBytes));
        fhir.MapGet("/Patient/{id:guid}/$everything", Everything);
        // Open like GET /network: it says what the server does, nothing about anyone (SMART on FHIR expects it unauthenticated).
        fhir.MapGet("/metadata", (HttpContext http, IClock clock) => Fhir(FhirCapability.Statement(BaseUrl(http), clock.UtcNow))).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// The import is one command, <c>ImportPatientRecord</c>, in telemetry from its first check (<see cref="CommandTelemetry"/>):
    /// a bundle refused whole before anything is decided counts as a refused command with one of the codes of
    /// <see cref="ImportRefusal"/>, and the command's duration includes reading and validating the bundle.
    /// </summary>
    public static async Task<ContentHttpResult> Import(
        HttpContext http, IMediator mediator, HospitalKeyring keyring, IClock clock, CommandTelemetry telemetry, CancellationToken ct)
    {
        var context = http.Command();
        using var run = telemetry.Begin("ImportPatientRecord", context);
        ContentHttpResult Refused(string code, ContentHttpResult answer)
        {
            run?.Refused(code);
            return answer;
        }

        // Only clinicians write entries (the decider's rule): anyone else is refused before a byte is parsed or validated.
        var actor = http.Actor();
        if (!actor.IsClinician())
            return Refused(ImportRefusal.WriteNotPermitted,
                FhirOutcome.Error(StatusCodes.Status403Forbidden, "forbidden", "Only a hospital's clinicians import records.", "write-not-permitted"));
        if (FhirNegotiation.RefuseBody(http.Request) is { } refused) return Refused(ImportRefusal.UnsupportedBody, refused);
        ParsedBundle parsed;
        try
        {
            parsed = ParsedBundle.Parse(await FhirNegotiation.ReadUtf8Async(http.Request, ct));
        }
        catch (DecoderFallbackException) { return Refused(ImportRefusal.InvalidBundle, FhirOutcome.Error(400, "invalid", "The body is not UTF-8.")); }
        catch (BundleException e) { return Refused(ImportRefusal.InvalidBundle, FhirOutcome.Answer(400, e.Issues)); }

        try
        {
            // Against the base R4 profiles, before anything is decided: a bundle with errors is refused whole.
            var issues = await FhirValidation.Shared.ValidateAsync(parsed.Model, ct);
            if (issues.Count(i => i.IsError) is var errors and > 0)
                return Refused(ImportRefusal.NotConformant, FhirOutcome.Answer(400, [new FhirIssue("error", "invalid",
                    $"The bundle does not conform to the base FHIR R4 profiles ({errors} error{(errors == 1 ? "" : "s")}); nothing was imported."),
                    .. issues.Take(MaxIssuesListed)]));

            ImportPlan plan;
            try { plan = ImportPlan.Of(parsed, actor.Hospital, keyring.Secret(actor.Hospital, PatientIdSecret), clock.UtcNow); }
            catch (BundleException e) { return Refused(ImportRefusal.InvalidBundle, FhirOutcome.Answer(400, e.Issues)); }
            // Rule refusals (403, 404, 409…) and failures (503) reach the exception handler, written as OperationOutcomes.
            var result = await mediator.Send(new ImportPatientRecordCommand(plan.PatientId, plan.Registration, plan.Entries, context, plan.Insurance), ct);
            run?.Accepted();
            return Fhir(FhirImportAnswer.Bundle(plan, result, issues, parsed.Model.Type!.Value, clock.UtcNow));
        }
        catch (Exception e)
        {
            run?.Failed(e);
            throw;
        }
    }

    /// <summary>The codes (<c>error.type</c>) of an import refused before it is decided: a bounded vocabulary, never the bundle's text.</summary>
    public static class ImportRefusal
    {
        /// <summary>The caller is not a clinician (403).</summary>
        public const string WriteNotPermitted = "write-not-permitted";
        /// <summary>Compressed, not JSON, or not UTF-8 by its Content-Type (415).</summary>
        public const string UnsupportedBody = "unsupported-media-type";
        /// <summary>Not UTF-8, not a readable R4 Bundle, or not one Patient and only about them (400).</summary>
        public const string InvalidBundle = "invalid-bundle";
        /// <summary>Errors against the base R4 profiles (400).</summary>
        public const string NotConformant = "bundle-not-conformant";
    }

    /// <summary>
    /// The patient's imported resources as a searchset Bundle (<see cref="FhirEverything"/>): an access for treatment to every
    /// category an import fills, decided, endorsed and recorded like POST /patients/{id}/access, released per category by the
    /// consents in force (all of it to the patient). Refused: 403 with the reason, and the denial is on the patient's trail.
    /// The operation's parameters (start, end, _since, _type, _count) are not supported: any is a 400, before anything is
    /// recorded, rather than an answer that silently ignores it while the trail records every category as read.
    /// </summary>
    public static async Task<ContentHttpResult> Everything(Guid id, HttpContext http, IMediator mediator, IClock clock, CancellationToken ct)
    {
        if (http.Request.Query.Keys.FirstOrDefault(k => k != FhirNegotiation.FormatParameter) is { } parameter)
            return FhirOutcome.Answer(400, [new FhirIssue("error", "not-supported",
                "$everything takes no parameters here (start, end, _since, _type and _count are not supported): it returns every released resource.",
                [parameter])]);
        var outcome = await mediator.Send(new RequestAccessCommand(id, KebabCase.Of(Purpose.Treatment),
            [.. FhirCategories.Imported.Select(c => KebabCase.Of(c))], http.Command()), ct);
        if (!outcome.Granted)
            return FhirOutcome.Error(StatusCodes.Status403Forbidden, "forbidden", outcome.Reason ?? "Access denied.", "access-denied");
        var self = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}";
        return Fhir(FhirEverything.Bundle(self, outcome.Entries, outcome.CategoriesReleased, clock.UtcNow));
    }

    /// <summary>This server's FHIR base URL (…/fhir).</summary>
    private static string BaseUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/fhir";

    private static ContentHttpResult Fhir(string json) => TypedResults.Text(json, FhirOutcome.ContentType, Encoding.UTF8, StatusCodes.Status200OK);
}
