using System.Collections.Immutable;

namespace HealthEvents.Domain.Research;

public sealed record ResearchState(ImmutableDictionary<string, DeclaredResearchProjection> Projections)
{
    public static readonly ResearchState Empty = new(ImmutableDictionary<string, DeclaredResearchProjection>.Empty.WithComparers(StringComparer.Ordinal));
}

/// <summary>A declared projection and the digest of its last publication (null before the first).</summary>
public sealed record DeclaredResearchProjection(ResearchProjectionDeclared Declaration, string? LastDigest)
{
    public string ResearcherId => Declaration.ResearcherId;
}
