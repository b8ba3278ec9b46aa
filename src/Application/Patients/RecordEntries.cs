using System.Text.Json.Serialization;

namespace HealthEvents.Application.Patients;

/// <summary>
/// Clinical content of an entry as sealed into events: the display text of the code and the note. An imported FHIR
/// resource is the note itself, marked by <see cref="ContentType"/> <c>application/fhir+json</c>, with the
/// <see cref="FullUrl"/> it had in its bundle (FHIR R4 Bundle.entry.fullUrl), so it can be served back as it came.
/// Both are left out of the sealed JSON when null, so a plain note seals as it always did.
/// </summary>
public sealed record EntryContent(
    string? Display, string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ContentType = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? FullUrl = null)
{
    /// <summary>The media type of a FHIR resource in JSON (FHIR R4 http.html#mime).</summary>
    public const string FhirJson = "application/fhir+json";
}

public sealed record CodeInput(string System, string Code, string? Display);
