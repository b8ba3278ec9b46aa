using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// The server's CapabilityStatement (FHIR R4 capabilitystatement.html), the answer of <c>GET /fhir/metadata</c>: FHIR
/// 4.0.1, JSON only; system interactions transaction and batch (POST /fhir, one Patient's record per bundle); the
/// Patient <c>$everything</c> operation without parameters; bearer tokens. Built with the Firely model, so it is a valid R4
/// resource by construction.
/// </summary>
public static class FhirCapability
{
    public static string Statement(string baseUrl, DateTimeOffset now) => new CapabilityStatement
    {
        Status = PublicationStatus.Active,
        Date = now.ToUniversalTime().ToString("yyyy-MM-dd"),
        Publisher = "HealthEvents",
        Kind = CapabilityStatementKind.Instance,
        Software = new CapabilityStatement.SoftwareComponent { Name = "HealthEvents" },
        Implementation = new CapabilityStatement.ImplementationComponent
        {
            Description = "HealthEvents: hospitals share patient records through one endorsed, hash-chained history.",
            Url = baseUrl,
        },
        FhirVersion = FHIRVersion.N4_0_1,
        Format = ["application/fhir+json", "json"],
        Rest =
        [
            new CapabilityStatement.RestComponent
            {
                Mode = CapabilityStatement.RestfulCapabilityMode.Server,
                Documentation = "One patient per bundle. Imported resources are read back only through Patient/$everything; there is no read or search by type.",
                Security = new CapabilityStatement.SecurityComponent
                {
                    Description = "Authorization: Bearer <token>, a token signed by a member hospital's identity key (GET /network lists the keys).",
                },
                Interaction =
                [
                    new CapabilityStatement.SystemInteractionComponent
                    {
                        Code = CapabilityStatement.SystemRestfulInteraction.Transaction,
                        Documentation = "POST /fhir: a transaction bundle holding one Patient and their record, by a clinician of the sending hospital; answered with a transaction-response.",
                    },
                    new CapabilityStatement.SystemInteractionComponent
                    {
                        Code = CapabilityStatement.SystemRestfulInteraction.Batch,
                        Documentation = "POST /fhir with a batch (or collection) bundle: imported as a transaction is; answered with a batch-response.",
                    },
                ],
                Resource =
                [
                    new CapabilityStatement.ResourceComponent
                    {
                        Type = "Patient",
                        Documentation = "Registered from the bundle's Patient (name, birth year, sex); the resource itself is not kept.",
                        Operation =
                        [
                            new CapabilityStatement.OperationComponent
                            {
                                Name = "everything",
                                Definition = "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                                Documentation = "GET only, no parameters: every imported resource the consents in force release to the caller; recorded on the patient's trail.",
                            },
                        ],
                    },
                ],
            },
        ],
    }.ToJson();
}
