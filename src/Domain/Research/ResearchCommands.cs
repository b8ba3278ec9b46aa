using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Research;

public interface IResearchCommand : IDomainCommand;

/// <param name="Organisation">The researcher's organisation as registered in the network; null when the actor is not a registered researcher.</param>
public sealed record DeclareResearchProjection(
    string Name,
    ResearchFilter Filter,
    IReadOnlyList<ResearchDimension> GroupBy,
    int K,
    string? Organisation,
    Actor Actor,
    DateTimeOffset At) : IResearchCommand;

/// <summary>Records that a result of <paramref name="Projection"/> counting these patients was served to its researcher.</summary>
public sealed record PublishResearchResults(
    string Projection,
    Guid PublicationId,
    string Digest,
    IReadOnlyList<ResearchUse> Uses,
    Actor Actor,
    DateTimeOffset At) : IResearchCommand;
