using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Ledger;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>The patient's views: audit trail, consents, insurance validity, chain verification.</summary>
public static class PatientQueryEndpoints
{
    public static RouteGroupBuilder MapPatientQueries(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/audit", Audit);
        patients.MapGet("/{id:guid}/audit/fhir", AuditAsFhir);
        patients.MapGet("/{id:guid}/consents", Consents);
        patients.MapGet("/{id:guid}/consents/fhir", ConsentsAsFhir);
        patients.MapGet("/{id:guid}/insurance/validity", InsuranceValidity);
        patients.MapGet("/{id:guid}/verification", Verification);
        return patients;
    }

    public static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> Audit(
        Guid id, DateTimeOffset? from, DateTimeOffset? to, string? actor, string? action, string? cursor, int? limit, string? order,
        HttpContext http, AuditQuery audit, ReadYourWrites fresh, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id)) return Forbidden("Only the patient reads their audit trail.");
        // order=newest: newest first (the patient's page); the default stays stream order.
        if (order is not (null or "oldest" or "newest"))
            return TypedResults.Problem(ProblemExceptionHandler.Problem(400, "Invalid query", "order is 'oldest' or 'newest'.", "invalid-query"));
        await fresh.WaitAsync(id, AuditProjection.ProjectionName, ct);
        try
        {
            return TypedResults.Ok(await audit.QueryAsync(id, from, to, actor, action, cursor, limit, ct, newestFirst: order == "newest"));
        }
        catch (ArgumentException e)
        {
            return InvalidQuery(e);
        }
    }

    /// <summary>The whole trail (within the filters) as a FHIR R4 Bundle of AuditEvents, for the patient to take elsewhere.</summary>
    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> AuditAsFhir(
        Guid id, DateTimeOffset? from, DateTimeOffset? to, string? actor, string? action,
        HttpContext http, AuditQuery audit, ReadYourWrites fresh, IClock clock, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id)) return Forbidden("Only the patient exports their audit trail.");
        await fresh.WaitAsync(id, AuditProjection.ProjectionName, ct);
        var items = new List<AuditEntry>();
        string? cursor = null;
        try
        {
            do
            {
                var page = await audit.QueryAsync(id, from, to, actor, action, cursor, AuditQuery.MaxLimit, ct);
                items.AddRange(page.Items);
                cursor = page.Next;
            } while (cursor is not null);
        }
        catch (ArgumentException e)
        {
            return InvalidQuery(e);
        }
        return TypedResults.Content(FhirAuditExport.Bundle(id, items, clock.UtcNow).ToJson(), FhirVocabulary.ContentType);
    }

    public sealed record ConsentsView(IReadOnlyList<ConsentDocument> Active, IReadOnlyList<ConsentDocument> Upcoming, IReadOnlyList<ConsentDocument> Past);

    /// <summary>
    /// The patient's consents (<see cref="VisibleConsentsAsync"/>): every one to the patient, to a grantee only those that
    /// name them.
    /// </summary>
    public static async Task<Results<Ok<ConsentsView>, ProblemHttpResult>> Consents(
        Guid id, HttpContext http, ConsentQuery consents, PatientDirectory patients, ReadYourWrites fresh, IClock clock, CancellationToken ct)
    {
        var now = clock.UtcNow;
        if (await VisibleConsentsAsync(id, http.Actor(), now, consents, patients, fresh, ct) is not { } list)
            return Forbidden("Only the patient or a grantee of an active consent reads the consents.");
        return TypedResults.Ok(new ConsentsView(list.Active, list.Upcoming, list.Past));
    }

    /// <summary>
    /// The patient's consents as a FHIR R4 Bundle of Consent resources (<see cref="FhirConsentExport"/>): active, yet to
    /// start and past (inactive), for a FHIR stack to import. Who may read the consents may export them, the same ones.
    /// </summary>
    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> ConsentsAsFhir(
        Guid id, HttpContext http, ConsentQuery consents, PatientDirectory patients, NetworkDirectory network, ReadYourWrites fresh, IClock clock,
        CancellationToken ct)
    {
        var now = clock.UtcNow;
        if (await VisibleConsentsAsync(id, http.Actor(), now, consents, patients, fresh, ct) is not { } list)
            return Forbidden("Only the patient or a grantee of an active consent reads the consents.");
        var hospitals = network.Current.Hospitals;
        var bundle = FhirConsentExport.Bundle(id, [.. list.Active, .. list.Upcoming, .. list.Past], now,
            hospital => hospitals.TryGetValue(hospital, out var h) ? h.Name : null);
        return TypedResults.Content(bundle.ToJson(), FhirVocabulary.ContentType);
    }

    /// <summary>
    /// What <paramref name="actor"/> may see of the patient's consents at <paramref name="now"/>, or null when nothing
    /// (neither the patient nor the grantee of a consent active now). The patient sees them all. A practitioner sees only
    /// the consents that name them — as themselves, by their role, or by their hospital (<see cref="Grantee.Matches"/>):
    /// a consent to someone else says what is being shared and with whom (a mental-health consent to another hospital's
    /// nurse tells that there is mental-health data), which is the patient's to tell.
    /// </summary>
    private static async Task<ConsentList?> VisibleConsentsAsync(
        Guid id, Actor actor, DateTimeOffset now, ConsentQuery consents, PatientDirectory patients, ReadYourWrites fresh, CancellationToken ct)
    {
        // Authorize first, from the write side, and only then wait for the view: an unknown patient and someone
        // else's look the same to a caller who may read neither (no answer or timing tells them apart).
        var patient = await patients.StateAsync(id, ct);
        if (!patient.MayReadConsents(actor, now)) return null;
        await fresh.WaitAsync(id, ConsentProjection.ProjectionName, ct);
        var list = await consents.ListAsync(id, now, ct);
        return patient.IsThePatient(actor) ? list : list.Where(c => c.Grantee.Matches(actor));
    }

    public static async Task<Results<Ok<InsuranceValidity>, ProblemHttpResult>> InsuranceValidity(
        Guid id, DateTimeOffset? at, HttpContext http, InsuranceQuery insurance, ReadYourWrites fresh, IClock clock, CancellationToken ct)
    {
        if (!http.Actor().IsPractitioner) return Forbidden("Only practitioners check insurance.");
        await fresh.WaitAsync(id, InsuranceProjection.ProjectionName, ct);
        return TypedResults.Ok(await insurance.ValidityAtAsync(id, at ?? clock.UtcNow, ct));
    }

    public sealed record VerificationView(bool Verified, long Events, long? FirstBrokenVersion, IReadOnlyList<VerificationProblem> Problems);

    public static async Task<Results<Ok<VerificationView>, ProblemHttpResult>> Verification(
        Guid id, HttpContext http, IEventStore store, EventSerializer serializer, NetworkGenesisPin genesis, LedgerCoverageQuery ledger,
        StoredAfterQuery dates, EndorsementOptions endorsement, AuditQuery audit, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id)) return Forbidden("Only the patient verifies their own trail.");
        // Read before the stream: the view never runs ahead of the stream, so a stream serving less than this was cut.
        var applied = await audit.LastVersionAsync(id, ct);
        // The keys and policies the patient's signatures are judged by come from the network stream: it is verified
        // too (its chain, and each change endorsed under the network before it, from the founding this node pinned on),
        // so a key written into the store behind the network's back cannot vouch for forged endorsements of the
        // patient's trail. The patient's own device-key signatures are checked as well (PatientSignatureChecker).
        // The patient's transactions are judged by the network as far as it verifies: a member or key forged into it, and
        // anything after, counts for nothing (VerifiedNetwork).
        var verified = await VerifiedNetwork.LoadAsync(store, serializer, genesis, ct);
        var network = verified.Report;
        var checker = verified.Checker(serializer);
        checker.BackdateTolerance = endorsement.BackdateTolerance;
        var streamId = PatientStream.StreamId(id);
        var events = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(streamId, 0, ct)) events.Add(e);
        // Each transaction dated by the endorsed tree heads stored before it, as verify dates it: one stamped back is backdated.
        var dated = new StoredAfterChecker(checker, streamId, await dates.DatesAsync(streamId, events, checker, ct));
        var options = new StreamVerifierOptions { EndorsementChecker = dated, Genesis = genesis };
        // Hash links, then each transaction's signatures against the keys valid at its time and the policy then in force.
        var report = await StreamVerifier.VerifyAsync(events, options, ct);
        // What the chain cannot see: its end cut off. Witnessed by the audit view and the ledger's leaves of the stream,
        // with the signed head's proof of its last (LedgerCoverage).
        var covered = await ledger.CheckAsync(streamId, events, checker, applied, ct);
        var cut = covered.Where(p => p.StreamId == streamId && !report.Problems.Any(r => r.Version == p.Version)).ToList();
        long? first = cut.Count == 0 ? report.FirstBrokenVersion : Math.Min(report.FirstBrokenVersion ?? long.MaxValue, cut.Min(p => p.Version));
        return TypedResults.Ok(new VerificationView(report.Verified && network.Verified && covered.Count == 0, report.Events, first,
            [.. network.Problems, .. report.Problems.Concat(cut).OrderBy(p => p.Version), .. covered.Where(p => p.StreamId != streamId)]));
    }

    /// <summary>The audit query's own refusals (unknown action, malformed cursor, bad limit): their text names the parameter, never data.</summary>
    private static ProblemHttpResult InvalidQuery(ArgumentException e) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(400, "Invalid query", e.Message.Split(" (Parameter")[0], "invalid-query"));

    private static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden", detail, "forbidden"));
}

/// <summary>
/// Read-your-writes for a patient's views: before answering, wait (briefly) until the projection
/// has applied the patient's latest event, so a command's effect shows in the very next read. The wait is a span of its
/// own, <c>read-your-writes</c> (attributes: the projection, whether it caught up in time).
/// </summary>
public sealed class ReadYourWrites(IEventStore store, ProjectionRunner runner, IHttpContextAccessor http)
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(2);

    /// <summary>Response header naming the view that had not caught up with the patient's last event when it answered.</summary>
    public const string BehindHeader = "X-View-Behind";

    public async Task WaitAsync(Guid patientId, string projection, CancellationToken ct)
    {
        using var span = HealthEventsTelemetry.Source.StartActivity("read-your-writes");
        span?.SetTag(HealthEventsTelemetry.Tags.Projection, projection);
        if (await store.ReadLastAsync(PatientStream.StreamId(patientId), ct) is { Position: { } position }
            && !await runner.WaitForAsync(projection, position, MaxWait, ct))
        {
            span?.SetTag(HealthEventsTelemetry.Tags.CaughtUp, false);
            if (http.HttpContext is { } context) context.Response.Headers[BehindHeader] = projection; // the answer is true, but not yet of the latest event
        }
        else span?.SetTag(HealthEventsTelemetry.Tags.CaughtUp, true);
    }
}
