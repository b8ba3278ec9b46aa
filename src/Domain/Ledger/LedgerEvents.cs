using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Ledger;

/// <summary>An event of the single <c>ledger</c> stream: the signed tree heads of the global Merkle tree.</summary>
public interface ILedgerEvent : IEvent;

/// <summary>A tree head: <see cref="TreeSize"/> leaves with root <see cref="RootHash"/> (lowercase hex), as of <see cref="At"/>.</summary>
[EventType("ledger.tree-head.v1")]
public sealed record TreeHeadSigned(long TreeSize, string RootHash, DateTimeOffset At) : ILedgerEvent;

/// <summary>The last tree head (size 0 before the first).</summary>
public sealed record LedgerState(long TreeSize, string? RootHash)
{
    public static readonly LedgerState Empty = new(0, null);
}
