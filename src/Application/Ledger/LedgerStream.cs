using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;

namespace HealthEvents.Application.Ledger;

/// <summary>The ledger stream's entry point: one stream, <c>ledger</c>, holding the signed tree heads, endorsed like any transaction.</summary>
public sealed class LedgerStream(CommandExecutor executor, IClock clock)
{
    public const string StreamId = "ledger";

    /// <summary>Whether an event of <paramref name="streamId"/> is a leaf of the global tree: every stream's but the ledger's own (tree heads certifying tree heads would never settle).</summary>
    public static bool IsLeaf(string streamId) => !string.Equals(streamId, StreamId, StringComparison.Ordinal);

    /// <summary>Appends a tree head as the ledger builder of <paramref name="hospital"/> (this node's hospital).</summary>
    public Task<CommandResult<ILedgerEvent>> SignAsync(long treeSize, byte[] root, string hospital, CancellationToken ct)
    {
        var at = clock.UtcNow;
        var actor = new Actor(LedgerDecider.BuilderActorId, Role.Admin, hospital);
        var command = new SignTreeHead(treeSize, Convert.ToHexStringLower(root), actor, at);
        return executor.ExecuteAsync<LedgerDecider, LedgerState, ILedgerCommand, ILedgerEvent>(StreamId, command, at, CommandContext.For(actor), ct);
    }
}
