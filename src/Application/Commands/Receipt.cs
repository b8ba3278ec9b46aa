namespace HealthEvents.Application.Commands;

/// <summary>What every accepted command answers: its events, where they landed, the chain hash and who endorsed it.</summary>
public sealed record Receipt(IReadOnlyList<Guid> EventIds, long StreamVersion, string Hash, IReadOnlyList<string> EndorsedBy);
