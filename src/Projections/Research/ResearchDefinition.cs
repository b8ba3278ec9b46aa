using HealthEvents.Application.Research;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Projections.Research;

/// <summary>A declared research projection: what it counts, how it groups, its k, and whose consents admit a patient.</summary>
public sealed record ResearchDefinition(ResearchProjectionDeclared Declaration)
{
    public string Name => Declaration.Name;

    /// <summary>The runner's name: <c>research-{name}</c>.</summary>
    public string ProjectionName => ResearchProjectionNames.Of(Name);

    public string ResearcherId => Declaration.ResearcherId;
    public ResearchFilter Filter => Declaration.Filter;
    public IReadOnlyList<ResearchDimension> GroupBy => Declaration.GroupBy;
    public int K => Declaration.K;

    public bool Groups(ResearchDimension dimension) => GroupBy.Contains(dimension);

    /// <summary>
    /// A consent that can admit a patient here: for research, to read, granted to this researcher (a practitioner-kind
    /// grant naming the researcher id), to their organisation (a hospital-kind grant naming the organisation), or to
    /// the researcher role. Whether it is in force is decided at read time.
    /// </summary>
    public bool Admits(ConsentGranted consent) => Admits(consent.Grantee, consent.Categories, consent.Purposes, consent.Actions);

    /// <summary>Whether a consent, as narrowed, still admits the patient (a narrowing can only take them out).</summary>
    public bool Admits(ConsentNarrowed consent) => Admits(consent.Grantee, consent.Categories, consent.Purposes, consent.Actions);

    private bool Admits(Grantee grantee, IReadOnlyList<Category> categories, IReadOnlyList<Purpose> purposes, IReadOnlyList<AccessAction> actions) =>
        purposes.Contains(Purpose.Research)
        && actions.Contains(AccessAction.Read)
        && GrantedToResearcher(grantee)
        && RelevantCategories(categories).Count > 0;

    public bool GrantedToResearcher(Grantee grantee) => grantee.NamesResearcher(Declaration.ResearcherId, Declaration.Organisation);

    /// <summary>The consent's categories this projection can count (all of them when the filter names none).</summary>
    public IReadOnlyList<Category> RelevantCategories(IEnumerable<Category> categories) =>
        [.. categories.Where(c => Filter.Categories.Count == 0 || Filter.Categories.Contains(c)).Distinct()];

    /// <summary>Whether the entry passes the filter: category, code, and RecordedAt in [from, to).</summary>
    public bool Counts(RecordEntryAdded entry) =>
        (Filter.Categories.Count == 0 || Filter.Categories.Contains(entry.Category))
        && (Filter.Codes.Count == 0 || Filter.Codes.Any(c =>
            string.Equals(c.System, entry.CodeSystem, StringComparison.Ordinal) && string.Equals(c.Code, entry.Code, StringComparison.Ordinal)))
        && (Filter.From is not { } from || entry.RecordedAt >= from)
        && (Filter.To is not { } to || entry.RecordedAt < to);
}
