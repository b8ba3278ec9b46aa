using System.Globalization;
using HealthEvents.Domain.Common;
using HealthEvents.Projections.Views.Audit;
using Hl7.Fhir.Model;
using static HealthEvents.Api.Endpoints.FhirVocabulary;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// The patient's audit trail as a FHIR R4 Bundle (type collection) of AuditEvent resources (DICOM "Patient Record"
/// events), built with the Firely SDK, so a patient can take it to any FHIR-speaking tool. Who, when, why, the outcome,
/// and — in entity details — the categories, consent, event hash and endorsing hospitals; never clinical content.
/// </summary>
public static class FhirAuditExport
{
    public static Bundle Bundle(Guid patientId, IReadOnlyList<AuditEntry> items, DateTimeOffset now) => new()
    {
        Type = Hl7.Fhir.Model.Bundle.BundleType.Collection,
        Timestamp = now,
        Entry = [.. items.Select(item => new Bundle.EntryComponent { FullUrl = $"urn:uuid:{item.Id}", Resource = AuditEvent(patientId, item) })],
    };

    private static AuditEvent AuditEvent(Guid patientId, AuditEntry item)
    {
        var resource = new AuditEvent
        {
            Id = item.Id.ToString(),
            Type = new Coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"),
            Subtype = [new Coding($"{BaseSystem}/audit-action", item.Action)],
            Action = ActionCode(item.Action),
            Recorded = item.At.ToUniversalTime(),
            Outcome = item.Outcome == AuditOutcomes.Denied ? Hl7.Fhir.Model.AuditEvent.AuditEventOutcome.N4 : Hl7.Fhir.Model.AuditEvent.AuditEventOutcome.N0,
            OutcomeDesc = Text(item.Reason),
            Agent =
            [
                new()
                {
                    Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user"),
                    Role = [new CodeableConcept { Text = KebabCase.Of(item.Actor.Role) }],
                    Who = ByIdentifier(null, SubjectSystem, item.Actor.Id),
                    Requestor = true,
                },
                new()
                {
                    Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "dataprocessor", "data processor"),
                    Who = ByIdentifier(null, HospitalSystem, item.Actor.Hospital),
                    Requestor = false,
                },
            ],
            Source = new()
            {
                Observer = new ResourceReference { Display = "HealthEvents ledger" },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
            Entity =
            [
                new()
                {
                    What = new ResourceReference($"Patient/{patientId}"),
                    Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
                    Detail = [.. Details(item)],
                },
            ],
        };
        if (PurposeCode(item) is { } purpose) resource.PurposeOfEvent = [new CodeableConcept(ActReason, purpose)];
        return resource;
    }

    private static IEnumerable<AuditEvent.DetailComponent> Details(AuditEntry item)
    {
        IEnumerable<(string Type, string? Value)> details =
        [
            ("streamVersion", item.StreamVersion.ToString(CultureInfo.InvariantCulture)),
            ("hash", item.Hash),
            ("endorsedBy", item.EndorsedBy.Count > 0 ? string.Join(",", item.EndorsedBy) : null),
            ("categories", item.Categories.Count > 0 ? string.Join(",", item.Categories.Select(KebabCase.Of)) : null),
            ("consentId", item.ConsentId?.ToString()),
            ("researchProjection", item.ResearchProjection),
            ("signedByPatientKey", item.SignedWithKey),
            ("deviceKey", item.DeviceKeyId),
        ];
        foreach (var (type, value) in details)
            if (Text(value) is { } text)
                yield return new AuditEvent.DetailComponent { Type = type, Value = new FhirString(text) };
    }

    /// <summary>FHIR's C/R/U/D/E for what the event did to the record.</summary>
    private static AuditEvent.AuditEventAction ActionCode(string action) => action switch
    {
        AuditActions.AccessGranted or AuditActions.AccessDenied or AuditActions.EmergencyAccess => Hl7.Fhir.Model.AuditEvent.AuditEventAction.R,
        AuditActions.PatientRegistered or AuditActions.EntryAdded or AuditActions.ConsentGranted or AuditActions.InsuranceLinked
            or AuditActions.DeviceKeyEnrolled => Hl7.Fhir.Model.AuditEvent.AuditEventAction.C,
        AuditActions.DetailsCorrected or AuditActions.EntryAmended or AuditActions.ConsentNarrowed
            or AuditActions.DeviceKeyReplaced => Hl7.Fhir.Model.AuditEvent.AuditEventAction.U,
        AuditActions.EntryRetracted or AuditActions.ConsentRevoked or AuditActions.InsuranceEnded or AuditActions.PatientForgotten
            => Hl7.Fhir.Model.AuditEvent.AuditEventAction.D,
        _ => Hl7.Fhir.Model.AuditEvent.AuditEventAction.E, // a question answered (access-explained), a research use
    };

    private static string? PurposeCode(AuditEntry item) => item.Action switch
    {
        AuditActions.EmergencyAccess => "ETREAT",
        AuditActions.ResearchUse => "HRESCH",
        _ => item.Purpose is { } purpose ? PurposeOfUse(purpose) : null,
    };
}
