using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Firely's profile validator (Firely.Fhir.Validation.R4) over the base R4 specification, offline: the StructureDefinitions,
/// ValueSets and CodeSystems of the specification.zip that Hl7.Fhir.Specification.Data.R4 ships beside the test assembly,
/// with its local terminology service. It checks cardinalities, types, invariants (FHIRPath constraints such as ppc-1),
/// primitive formats and required bindings — what the deserializer alone does not.
/// </summary>
public static class FhirValidation
{
    // The validator and its resolvers are not thread-safe (Firely's README): one shared instance, one validation at a time.
    private static readonly Lock Gate = new();
    private static Validator? _validator;

    /// <summary>
    /// The errors (and fatal issues) of a FHIR JSON resource: first whether the Firely SDK reads it strictly, then the
    /// validator's outcome against the base profile of its type. Each as "severity code at expression: text".
    /// </summary>
    public static IReadOnlyList<string> Errors(string json)
    {
        Resource resource;
        try
        {
            resource = new FhirJsonDeserializer().Deserialize<Resource>(json);
        }
        catch (DeserializationFailedException e)
        {
            return [.. e.Exceptions.Select(x => $"fatal structure: {x.Message}")];
        }
        OperationOutcome outcome;
        lock (Gate)
        {
            _validator ??= NewValidator();
            outcome = _validator.Validate(resource);
        }
        return [.. outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Select(i => $"{i.Severity} {i.Code} at {string.Join(",", i.Expression ?? [])}: {i.Details?.Text ?? i.Diagnostics}")];
    }

    private static Validator NewValidator()
    {
        var specification = new CachedResolver(ZipSource.CreateValidationSource());
        return new Validator(specification, new LocalTerminologyService(specification));
    }
}
