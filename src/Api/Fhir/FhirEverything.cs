using System.Text;
using System.Text.Json;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// The answer of <c>Patient/$everything</c> (FHIR R4 patient-operation-everything): a searchset Bundle whose entries are
/// the imported resources of the released categories, each written byte for byte as it came in (references as sent)
/// under the fullUrl it had in its bundle, so references between them resolve as they did there. When some released
/// entries are notes rather than resources, or some categories were not released, one OperationOutcome entry
/// (search.mode "outcome") says so — how many, and which categories; never their content.
/// </summary>
public static class FhirEverything
{
    public static string Bundle(string selfUrl, IReadOnlyList<RecordEntryView> entries, IReadOnlyCollection<Category> released, DateTimeOffset now)
    {
        var resources = entries.Where(e => e.ContentType == EntryContent.FhirJson && e.Text is not null)
            .OrderBy(e => e.RecordedAt).ThenBy(e => e.EntryId).ToList();
        var issues = new List<FhirIssue>();
        if (entries.Count - resources.Count is var notes and > 0)
            issues.Add(new("information", "informational",
                $"{notes} released entr{(notes == 1 ? "y is a" : "ies are")} note{(notes == 1 ? "" : "s")}, not a FHIR resource (recorded through the JSON API or amended): see POST /patients/{{id}}/access."));
        // A fullUrl names one resource in a bundle (bdl-7). Two entries that came with the same one (resources sent under a
        // reused temporary urn:uuid, or imported by different bundles) keep it for the first only; the others are named
        // by their entry id.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var fullUrls = resources.Select(e => e.FullUrl is { } url && seen.Add(url) ? url : $"urn:uuid:{e.EntryId}").ToList();
        if (resources.Count(e => e.FullUrl is not null) - seen.Count is var renamed and > 0)
            issues.Add(new("information", "informational",
                $"{renamed} resource{(renamed == 1 ? " has" : "s have")} the fullUrl of another one on the record, so {(renamed == 1 ? "it is" : "they are")} named by entry id (urn:uuid)."));
        var withheld = FhirCategories.Imported.Where(c => !released.Contains(c)).ToList();
        if (withheld.Count > 0)
            issues.Add(new("information", "suppressed",
                $"Not released by any consent in force: {string.Join(", ", withheld.Select(KebabCase.Of))}."));

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("resourceType", "Bundle");
            w.WriteString("type", "searchset");
            w.WriteString("timestamp", now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("total", resources.Count);
            w.WriteStartArray("link");
            w.WriteStartObject();
            w.WriteString("relation", "self");
            w.WriteString("url", selfUrl);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("entry");
            for (var i = 0; i < resources.Count; i++)
            {
                var e = resources[i];
                w.WriteStartObject();
                w.WriteString("fullUrl", fullUrls[i]);
                w.WritePropertyName("resource");
                w.WriteRawValue(e.Text!, skipInputValidation: false); // the resource exactly as it came in
                w.WriteStartObject("search");
                w.WriteString("mode", "match");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (issues.Count > 0)
            {
                w.WriteStartObject();
                w.WriteString("fullUrl", $"urn:uuid:{Guid.NewGuid()}");
                w.WritePropertyName("resource");
                w.WriteRawValue(FhirOutcome.Resource(issues).ToJsonString());
                w.WriteStartObject("search");
                w.WriteString("mode", "outcome");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
