using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Ledger;

/// <summary>
/// The <c>ledger</c> stream. Deterministic, like every decider: it cannot see the global log, so it checks only what the
/// stream itself knows — the head comes from the ledger builder, its root is 32 bytes of lowercase hex, and tree sizes
/// only grow. That the root is the right one is checked by anyone recomputing it from the store (LedgerVerifier).
/// </summary>
public sealed class LedgerDecider : IDecider<LedgerState, ILedgerCommand, ILedgerEvent>
{
    /// <summary>The actor id the ledger builder signs tree heads as.</summary>
    public const string BuilderActorId = SystemActors.LedgerBuilder;

    private LedgerDecider() { }

    public static LedgerState Initial => LedgerState.Empty;

    public static IReadOnlyList<ILedgerEvent> Decide(ILedgerCommand command, LedgerState state) => command switch
    {
        SignTreeHead c => Sign(c, state),
        _ => throw new ArgumentException($"Unknown ledger command {command.GetType().Name}.", nameof(command)),
    };

    public static LedgerState Evolve(LedgerState state, ILedgerEvent @event) => @event switch
    {
        TreeHeadSigned e => new LedgerState(e.TreeSize, e.RootHash),
        _ => throw new ArgumentException($"Unknown ledger event {@event.GetType().Name}.", nameof(@event)),
    };

    private static IReadOnlyList<ILedgerEvent> Sign(SignTreeHead c, LedgerState state)
    {
        if (c.Actor.Id != BuilderActorId || c.Actor.Role != Role.Admin)
            throw RejectedException.Forbidden("ledger-builder-required", "Only the ledger builder signs tree heads.");
        if (c.RootHash is not { Length: 64 } || !c.RootHash.All(ch => ch is >= '0' and <= '9' or >= 'a' and <= 'f'))
            throw RejectedException.Invalid("root-hash-invalid", "A root hash is 32 bytes in lowercase hex.");
        if (c.TreeSize <= state.TreeSize)
            throw RejectedException.Conflict("tree-size-not-growing", $"The ledger is signed up to {state.TreeSize} leaves already.");
        return [new TreeHeadSigned(c.TreeSize, c.RootHash, c.At.ToUniversalTime())];
    }
}
