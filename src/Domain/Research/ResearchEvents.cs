using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Research;

/// <summary>An event of the single <c>research</c> stream: declarations of research projections and their publications.</summary>
public interface IResearchEvent : IEvent;

/// <summary>What a research projection may group its counts by.</summary>
public enum ResearchDimension
{
    /// <summary>10-year band of the age at the reference date (the time window's end, or now), "90+" at the top.</summary>
    AgeBand,
    Sex,
    /// <summary>The entry's code system and code.</summary>
    Code,
    /// <summary>The year of the entry's RecordedAt (UTC).</summary>
    EntryYear,
    /// <summary>The hospital that wrote the entry.</summary>
    Hospital,
}

public sealed record ResearchCode(string System, string Code);

/// <summary>
/// Which record entries a research projection counts. Empty <see cref="Categories"/>: every category (each entry still
/// needs a research consent covering its category). Empty <see cref="Codes"/>: any code. <see cref="From"/> (inclusive)
/// and <see cref="To"/> (exclusive) bound the entry's RecordedAt.
/// </summary>
public sealed record ResearchFilter(
    IReadOnlyList<Category> Categories,
    IReadOnlyList<ResearchCode> Codes,
    DateTimeOffset? From,
    DateTimeOffset? To);

/// <summary>A researcher declared a research projection; its organisation is the one registered in the network at that time.</summary>
[EventType("research.projection-declared.v1")]
public sealed record ResearchProjectionDeclared(
    string Name,
    string ResearcherId,
    string Organisation,
    ResearchFilter Filter,
    IReadOnlyList<ResearchDimension> GroupBy,
    int K,
    DateTimeOffset DeclaredAt) : IResearchEvent;

/// <summary>
/// A research projection's rows were served to its researcher, and counted these patients. One publication may span
/// several events (<see cref="Part"/> of <see cref="Parts"/>) of one transaction, each with a slice of the uses.
/// <see cref="Digest"/> identifies the published result: the same result served again is the same publication.
/// </summary>
[EventType("research.results-published.v1")]
public sealed record ResearchResultsPublished(
    string Projection,
    Guid PublicationId,
    string ResearcherId,
    string Digest,
    int Part,
    int Parts,
    IReadOnlyList<ResearchUse> Uses,
    DateTimeOffset PublishedAt) : IResearchEvent;

/// <summary>One patient counted in a publication: which of their categories counted, under which consents.</summary>
public sealed record ResearchUse(Guid PatientId, IReadOnlyList<Category> Categories, IReadOnlyList<Guid> ConsentIds);
