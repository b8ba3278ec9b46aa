using CsvHelper;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Projections.Views.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace HealthEvents.Api.Endpoints;

/// <summary>The patient's accounting of disclosures (HIPAA 45 CFR §164.528), as JSON or CSV.</summary>
public static class DisclosureEndpoints
{
    /// <summary>The period §164.528(a)(1) entitles the patient to by default: the six years before the request.</summary>
    public const int DefaultYears = 6;

    public const string CsvContentType = "text/csv; charset=utf-8; header=present";

    private static readonly string[] CsvHeader =
        ["date", "recipient", "recipient_role", "organisation", "hospital", "disclosed", "purpose", "emergency", "reason", "description", "event_id"];

    public static RouteGroupBuilder MapDisclosures(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/disclosures", Disclosures);
        return patients;
    }

    /// <summary>
    /// GET /patients/{id}/disclosures?from&amp;to&amp;format: the patient's own report (<see cref="DisclosureReport"/>), from the
    /// audit view. from (inclusive) defaults to six years ago, to (exclusive) to now; ISO 8601 instants. CSV (RFC 4180,
    /// UTF-8, header row) when format=csv or Accept: text/csv; text that a spreadsheet would run as a formula is escaped
    /// with a leading apostrophe. 400 for a malformed date, from after to, or another format; 403 for anyone but the patient.
    /// </summary>
    public static async Task<Results<Ok<DisclosureReport>, FileContentHttpResult, ProblemHttpResult>> Disclosures(
        Guid id, DateTimeOffset? from, DateTimeOffset? to, string? format, HttpContext http, DisclosureQuery disclosures,
        NetworkDirectory network, ReadYourWrites fresh, IClock clock, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id))
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", "Only the patient reads their accounting of disclosures.", "forbidden");
        if (format is not (null or "json" or "csv"))
            return Problem(400, "Invalid query", "format is 'json' or 'csv'.", "invalid-query");
        var now = clock.UtcNow;
        var (start, end) = (from ?? now.AddYears(-DefaultYears), to ?? now);
        if (start > end)
            return Problem(400, "Invalid query", "from must not be after to.", "invalid-query");

        await fresh.WaitAsync(id, AuditProjection.ProjectionName, ct);
        var report = await disclosures.ReportAsync(id, start, end, network.Current, now, ct);
        return format == "csv" || (format is null && WantsCsv(http.Request))
            ? TypedResults.File(Csv(report), CsvContentType, $"disclosures-{id}.csv")
            : TypedResults.Ok(report);
    }

    /// <summary>CSV when the request's Accept prefers text/csv over JSON (quality values honoured).</summary>
    private static bool WantsCsv(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)) return false;
        double Quality(string type) => accepted.Where(a => a.MediaType.Equals(type, StringComparison.OrdinalIgnoreCase))
            .Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        return Quality("text/csv") > Math.Max(Quality("application/json"), 0);
    }

    private static byte[] Csv(DisclosureReport report)
    {
        using var buffer = new MemoryStream();
        using (var csv = CsvWriter.Create(buffer, CsvWriterOptions.Default with { Injection = CsvInjection.Escape }, leaveOpen: true))
        {
            csv.WriteHeader(CsvHeader);
            foreach (var d in report.Disclosures)
                csv.WriteRecord(
                [
                    d.At.ToUniversalTime().ToString("O"), d.Recipient.Id, KebabCase.Of(d.Recipient.Role), d.Organisation.Name, d.Organisation.HospitalId,
                    string.Join("; ", d.Disclosed.Select(KebabCase.Of)), KebabCase.Of(d.Purpose), d.Emergency ? "yes" : "no", d.Reason,
                    d.Description, d.EventId.ToString(),
                ]);
        }
        return buffer.ToArray();
    }

    private static ProblemHttpResult Problem(int status, string title, string detail, string code) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(status, title, detail, code));
}
