using System.Text;
using HealthEvents.Domain.Common;
using Hl7.Fhir.Model;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// What the FHIR R4 exports (audit trail, consents) share: the media type, this service's identifier and code systems,
/// the HL7 purpose-of-use codes, and the rule that makes stored text a valid FHIR string.
/// </summary>
public static class FhirVocabulary
{
    /// <summary>The FHIR JSON media type (R4 §2.6.2 "http.html#mime-type").</summary>
    public const string ContentType = "application/fhir+json";

    /// <summary>Base of this service's own identifier and code systems: /subject (an actor's id), /hospital, /role, /category, /audit-action.</summary>
    public const string BaseSystem = "https://healthevents.example/fhir";

    public const string SubjectSystem = BaseSystem + "/subject";
    public const string HospitalSystem = BaseSystem + "/hospital";
    public const string RoleSystem = BaseSystem + "/role";
    public const string CategorySystem = BaseSystem + "/category";

    /// <summary>HL7 v3 ActReason, whose PurposeOfUse codes R4 binds AuditEvent.purposeOfEvent and Consent.provision.purpose to.</summary>
    public const string ActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

    /// <summary>The PurposeOfUse code of a purpose: TREAT, HRESCH (research), COVERAGE (insurance).</summary>
    public static string PurposeOfUse(Purpose purpose) => purpose switch
    {
        Purpose.Treatment => "TREAT",
        Purpose.Research => "HRESCH",
        Purpose.Insurance => "COVERAGE",
        _ => throw new ArgumentOutOfRangeException(nameof(purpose)),
    };

    /// <summary>
    /// Stored text as a FHIR string (R4 datatypes §2.24.0.1: no control characters, no leading or trailing whitespace,
    /// never empty): control characters become spaces, ill-formed UTF-16 becomes U+FFFD, the ends are trimmed; null when
    /// nothing is left, so the element is left out rather than written empty.
    /// </summary>
    public static string? Text(string? text)
    {
        if (text is null) return null;
        var clean = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes()) // a lone surrogate enumerates as U+FFFD
            clean.Append(Rune.IsControl(rune) ? " " : rune.ToString());
        var trimmed = clean.ToString().Trim();
        return trimmed.Length == 0 ? null : trimmed;
    }

    /// <summary>A reference by business identifier (R4 references.html#logical): to someone this service knows only by id.</summary>
    public static ResourceReference ByIdentifier(string? type, string system, string value, string? display = null) => new()
    {
        Type = type,
        Identifier = new Identifier(system, Text(value) ?? "(none)"),
        Display = Text(display),
    };
}
