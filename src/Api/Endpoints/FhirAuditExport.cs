using System.Text.Json.Nodes;
using HealthEvents.Domain.Common;
using HealthEvents.Projections.Views.Audit;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// The patient's audit trail as a FHIR R4 Bundle of AuditEvent resources (DICOM "Patient Record" events),
/// so a patient can take it to any FHIR-speaking tool. Who, when, why, the outcome, and — in entity
/// details — the categories, consent, event hash and endorsing hospitals; never clinical content.
/// </summary>
public static class FhirAuditExport
{
    public const string ContentType = "application/fhir+json";
    private const string HealthEventsSystem = "https://healthevents.example/fhir";

    public static JsonObject Bundle(Guid patientId, IReadOnlyList<AuditEntry> items) => new()
    {
        ["resourceType"] = "Bundle",
        ["type"] = "collection",
        ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
        ["entry"] = new JsonArray(items.Select(item => (JsonNode)new JsonObject
        {
            ["fullUrl"] = $"urn:uuid:{item.Id}",
            ["resource"] = AuditEvent(patientId, item),
        }).ToArray()),
    };

    private static JsonObject AuditEvent(Guid patientId, AuditEntry item)
    {
        var resource = new JsonObject
        {
            ["resourceType"] = "AuditEvent",
            ["id"] = item.Id.ToString(),
            ["type"] = Coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"),
            ["subtype"] = new JsonArray(Coding($"{HealthEventsSystem}/audit-action", item.Action, null)),
            ["action"] = ActionCode(item.Action),
            ["recorded"] = item.At.ToUniversalTime().ToString("O"),
            ["outcome"] = item.Outcome == AuditOutcomes.Denied ? "4" : "0",
        };
        if (item.Reason is { Length: > 0 } reason) resource["outcomeDesc"] = reason;
        if (PurposeCode(item) is { } purpose)
            resource["purposeOfEvent"] = new JsonArray(new JsonObject
            {
                ["coding"] = new JsonArray(Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", purpose, null)),
            });
        resource["agent"] = new JsonArray(
            new JsonObject
            {
                ["type"] = Concept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user"),
                ["role"] = new JsonArray(new JsonObject { ["text"] = KebabCase.Of(item.Actor.Role) }),
                ["who"] = Identifier($"{HealthEventsSystem}/subject", item.Actor.Id),
                ["requestor"] = true,
            },
            new JsonObject
            {
                ["type"] = Concept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "dataprocessor", "data processor"),
                ["who"] = Identifier($"{HealthEventsSystem}/hospital", item.Actor.Hospital),
                ["requestor"] = false,
            });
        resource["source"] = new JsonObject
        {
            ["observer"] = new JsonObject { ["display"] = "HealthEvents ledger" },
            ["type"] = new JsonArray(Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")),
        };
        resource["entity"] = new JsonArray(new JsonObject
        {
            ["what"] = new JsonObject { ["reference"] = $"Patient/{patientId}" },
            ["type"] = Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
            ["detail"] = new JsonArray(Details(item).ToArray()),
        });
        return resource;
    }

    private static IEnumerable<JsonNode> Details(AuditEntry item)
    {
        JsonNode Detail(string type, string value) => new JsonObject { ["type"] = type, ["valueString"] = value };
        yield return Detail("streamVersion", item.StreamVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return Detail("hash", item.Hash);
        if (item.EndorsedBy.Count > 0) yield return Detail("endorsedBy", string.Join(",", item.EndorsedBy));
        if (item.Categories.Count > 0) yield return Detail("categories", string.Join(",", item.Categories.Select(KebabCase.Of)));
        if (item.ConsentId is { } consent) yield return Detail("consentId", consent.ToString());
        if (item.ResearchProjection is { } projection) yield return Detail("researchProjection", projection);
        if (item.SignedWithKey is { } signedWith) yield return Detail("signedByPatientKey", signedWith);
        if (item.DeviceKeyId is { } deviceKey) yield return Detail("deviceKey", deviceKey);
    }

    /// <summary>FHIR's C/R/U/D/E for what the event did to the record.</summary>
    private static string ActionCode(string action) => action switch
    {
        AuditActions.AccessGranted or AuditActions.AccessDenied or AuditActions.EmergencyAccess => "R",
        AuditActions.PatientRegistered or AuditActions.EntryAdded or AuditActions.ConsentGranted or AuditActions.InsuranceLinked
            or AuditActions.DeviceKeyEnrolled => "C",
        AuditActions.DetailsCorrected or AuditActions.EntryAmended or AuditActions.DeviceKeyReplaced => "U",
        AuditActions.EntryRetracted or AuditActions.ConsentRevoked or AuditActions.InsuranceEnded or AuditActions.PatientForgotten => "D",
        _ => "E",
    };

    private static string? PurposeCode(AuditEntry item) => item.Action switch
    {
        AuditActions.EmergencyAccess => "ETREAT",
        AuditActions.ResearchUse => "HRESCH",
        _ => item.Purpose switch
        {
            Purpose.Treatment => "TREAT",
            Purpose.Research => "HRESCH",
            Purpose.Insurance => "COVERAGE",
            _ => null,
        },
    };

    private static JsonObject Coding(string system, string code, string? display)
    {
        var coding = new JsonObject { ["system"] = system, ["code"] = code };
        if (display is not null) coding["display"] = display;
        return coding;
    }

    private static JsonObject Concept(string system, string code, string display) =>
        new() { ["coding"] = new JsonArray(Coding(system, code, display)) };

    private static JsonObject Identifier(string system, string value) =>
        new() { ["identifier"] = new JsonObject { ["system"] = system, ["value"] = value } };
}
