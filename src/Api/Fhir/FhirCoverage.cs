using System.Globalization;
using HealthEvents.Application.Patients;
using Hl7.Fhir.Model;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// A FHIR R4 Coverage as the patient's insurance link (the <c>PUT /patients/{id}/insurance</c> fields): the insurer is the
/// first payor (its display, else the name of the Organization it references in the bundle, else its identifier's
/// value); the policy reference is <c>subscriberId</c>, else the Coverage's first identifier value (only a hash of it is
/// stored, as for PUT); the validity is <c>period</c> — without a start, from when it was first linked (the import's
/// time; sent again, the start stays); without an end, open (<see cref="OpenEnded"/>). Only an <c>active</c> Coverage is linked.
/// </summary>
public static class FhirCoverage
{
    /// <summary>The end an open-ended coverage is linked with (the insurance link needs one).</summary>
    public static readonly DateTimeOffset OpenEnded = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Longest insurer name and policy reference, as for PUT /patients/{id}/insurance.</summary>
    public const int MaxText = 200;

    /// <summary>The insurance the Coverage gives, or why it gives none (a skipped label).</summary>
    public static (ImportInsuranceInput? Insurance, string? Skipped) Of(Coverage coverage, Bundle bundle, DateTimeOffset now)
    {
        if (coverage.Status != FinancialResourceStatusCodes.Active)
            return (null, "Coverage (not active)");
        var insurer = coverage.Payor.Select(p => Text(p.Display) ?? Text(OrganizationName(p, bundle)) ?? Text(p.Identifier?.Value)).FirstOrDefault(n => n is not null);
        if (insurer is null) return (null, "Coverage (no insurer name: payor display, Organization name or identifier)");
        var policy = Text(coverage.SubscriberId) ?? coverage.Identifier.Select(i => Text(i.Value)).FirstOrDefault(v => v is not null);
        if (policy is null) return (null, "Coverage (no policy reference: subscriberId or identifier)");
        if (insurer.Length > MaxText || policy.Length > MaxText) return (null, "Coverage (insurer or policy reference longer than 200 characters)");
        var from = Instant(coverage.Period?.Start);
        var until = Instant(coverage.Period?.End) ?? OpenEnded;
        if (until <= (from ?? now)) return (null, "Coverage (its period ends before it starts, or has ended)");
        return (new ImportInsuranceInput(insurer, policy, from, until), null);
    }

    private static string? OrganizationName(ResourceReference payor, Bundle bundle) =>
        payor.Reference is { Length: > 0 } target
            ? bundle.Entry.Select(e => (e.FullUrl, Organization: e.Resource as Organization))
                .FirstOrDefault(e => e.Organization is not null && (e.FullUrl == target || $"Organization/{e.Organization.Id}" == target)).Organization?.Name
            : null;

    private static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A FHIR dateTime (a year, a date, or a time with zone) as the instant it starts at, UTC when no zone is given.</summary>
    private static DateTimeOffset? Instant(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var padded = value.Length switch { 4 => value + "-01-01", 7 => value + "-01", _ => value };
        return DateTimeOffset.TryParse(padded, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
    }
}
