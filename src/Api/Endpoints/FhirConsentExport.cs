using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Views.Consents;
using Hl7.Fhir.Model;
using static HealthEvents.Api.Endpoints.FhirVocabulary;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// A patient's consents as a FHIR R4 Bundle (type collection) of Consent resources (R4 consent.html), built with the
/// Firely SDK, for a hospital's FHIR stack to import. Each consent is a privacy consent (scope patient-privacy, category
/// LOINC 59284-0 "Patient Consent") whose one provision permits, within the consent's period: the grantee (actor, role
/// IRCP "information recipient"), the actions (read: "access", write: "collect"), the purposes (v3 PurposeOfUse) and
/// the categories (class, in this service's category system; the sensitive ones also as security labels). Status is
/// active while the consent is in force or yet to start, inactive once revoked or expired.
/// </summary>
public static class FhirConsentExport
{
    /// <summary>The rules every consent here is read under (ppc-1: a Consent names its policy): anything not granted is denied.</summary>
    public const string PolicyUri = BaseSystem + "/consent-policy";

    /// <param name="hospitalName">A member hospital's name by id, shown beside a hospital grantee; null when unknown.</param>
    public static Bundle Bundle(Guid patientId, IReadOnlyList<ConsentDocument> consents, DateTimeOffset now, Func<string, string?> hospitalName) => new()
    {
        Type = Hl7.Fhir.Model.Bundle.BundleType.Collection,
        Timestamp = now,
        Entry = [.. consents.Select(c => new Bundle.EntryComponent { FullUrl = $"urn:uuid:{c.ConsentId}", Resource = Consent(patientId, c, now, hospitalName) })],
    };

    private static Consent Consent(Guid patientId, ConsentDocument c, DateTimeOffset now, Func<string, string?> hospitalName) => new()
    {
        Id = c.ConsentId.ToString(),
        Status = c.IsActiveAt(now) || c.IsUpcomingAt(now) ? Hl7.Fhir.Model.Consent.ConsentState.Active : Hl7.Fhir.Model.Consent.ConsentState.Inactive,
        Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
        Category = [new CodeableConcept("http://loinc.org", "59284-0", "Patient Consent")],
        Patient = new ResourceReference($"Patient/{patientId}"),
        DateTimeElement = new FhirDateTime(c.GrantedAt.ToUniversalTime()),
        Performer = [new ResourceReference($"Patient/{patientId}")],
        Policy = [new Consent.PolicyComponent { Uri = PolicyUri }],
        Provision = new Consent.provisionComponent
        {
            Type = Hl7.Fhir.Model.Consent.ConsentProvisionType.Permit,
            Period = new Period(new FhirDateTime(c.ValidFrom.ToUniversalTime()), c.ValidUntil is { } until ? new FhirDateTime(until.ToUniversalTime()) : null),
            Actor =
            [
                new Consent.provisionActorComponent
                {
                    Role = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"),
                    Reference = Grantee(c.Grantee, hospitalName),
                },
            ],
            Action = [.. c.Actions.Distinct().Select(a => a == AccessAction.Read
                ? new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentaction", "access", "Access")
                : new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentaction", "collect", "Collect"))],
            Purpose = [.. c.Purposes.Distinct().Select(p => new Coding(ActReason, PurposeOfUse(p)))],
            SecurityLabel = [.. c.Categories.Where(Categories.IsSensitive).Distinct().Select(SensitivityLabel)],
            Class = [.. c.Categories.Distinct().Select(x => new Coding(CategorySystem, KebabCase.Of(x)))],
        },
    };

    /// <summary>The grantee by identifier: a practitioner, a hospital (an Organization, with its name), or anyone of a role (a PractitionerRole).</summary>
    private static ResourceReference Grantee(Grantee grantee, Func<string, string?> hospitalName) => grantee.Kind switch
    {
        GranteeKind.Practitioner => ByIdentifier("Practitioner", SubjectSystem, grantee.Id),
        GranteeKind.Hospital => ByIdentifier("Organization", HospitalSystem, grantee.Id, hospitalName(grantee.Id)),
        _ => ByIdentifier("PractitionerRole", RoleSystem, grantee.Id, $"any {grantee.Id} practitioner"),
    };

    /// <summary>
    /// The HL7 label of a sensitive category: v3 ActCode PSY (psychiatry), STD (sexually transmitted disease), GDIS (genetic
    /// disease); surveys, which no one sensitivity code covers, the v3 Confidentiality code R (restricted).
    /// </summary>
    private static Coding SensitivityLabel(Category category) => category switch
    {
        Category.MentalHealth => new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY", "psychiatry disorder information sensitivity"),
        Category.SexualHealth => new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "STD", "sexually transmitted disease information sensitivity"),
        Category.Genetics => new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "GDIS", "genetic disease information sensitivity"),
        _ => new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", "restricted"),
    };
}
