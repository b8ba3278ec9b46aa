using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Ledger;

public interface ILedgerCommand : IDomainCommand;

/// <summary>
/// Records a tree head of the global ledger: the RFC 9162 Merkle root (lowercase hex) over the stored hashes of the
/// first <paramref name="TreeSize"/> events of the global log (the <c>ledger</c> stream's own events excluded).
/// </summary>
public sealed record SignTreeHead(long TreeSize, string RootHash, Actor Actor, DateTimeOffset At) : ILedgerCommand;
