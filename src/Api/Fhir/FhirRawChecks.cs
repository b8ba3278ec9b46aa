using System.Text.Json;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// What the bundle's text must not hold whatever the profiles say, checked over the JSON before the Firely SDK reads it:
/// <list type="bullet">
/// <item>a string with a lone UTF-16 surrogate (<c>"\ud800"</c> escaped alone): not text, so nothing could store, hash or
/// answer it faithfully (RFC 8259 §8.2 leaves it undefined);</item>
/// <item>a <c>modifierExtension</c> or <c>implicitRules</c>: both change the meaning of what they sit on, and FHIR R4 requires
/// a system that does not understand them to refuse the content rather than process it (extensibility.html#modifierExtension,
/// resource.html#implicitRules). This service understands none, so any one refuses the bundle.</item>
/// </list>
/// </summary>
public static class FhirRawChecks
{
    /// <summary>Throws <see cref="BundleException"/> naming the first offending element (its FHIRPath, never its value).</summary>
    public static void Check(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException) { throw LoneSurrogate(path); }
                    var at = $"{path}.{name}";
                    if (name == "modifierExtension" && property.Value is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0)
                        throw new BundleException("not-supported",
                            "A modifierExtension changes the meaning of the element it is on; none is understood here, so the bundle is not imported (FHIR R4 extensibility.html#modifierExtension).", at);
                    if (name == "implicitRules")
                        throw new BundleException("not-supported",
                            "implicitRules says the resource must be read under rules this service does not know, so the bundle is not imported (FHIR R4 resource.html#implicitRules).", at);
                    Check(property.Value, at);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray()) Check(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.String:
                try { _ = element.GetString(); }
                catch (InvalidOperationException) { throw LoneSurrogate(path); }
                break;
        }
    }

    private static BundleException LoneSurrogate(string path) =>
        new("invalid", "A string holds a lone UTF-16 surrogate (an escaped \\ud800-\\udfff without its pair), which is not text.", path);
}
