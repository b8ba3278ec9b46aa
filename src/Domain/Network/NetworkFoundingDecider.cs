using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

/// <summary>
/// The network decider as the genesis file uses it: the founding actor may also admit hospitals and set the endorsement
/// policy directly while it founds the network, which <see cref="NetworkDecider"/> refuses once there are members.
/// Only the node founding the network uses it, for the unendorsed genesis transactions; endorsers re-run every proposal
/// with <see cref="NetworkDecider"/>, so a command merely claiming to come from genesis is refused there.
/// Transitional: once the genesis founds the network in one command on the empty network, this can go.
/// </summary>
public sealed class NetworkFoundingDecider : IDecider<NetworkState, INetworkCommand, INetworkEvent>
{
    /// <summary>The same id as EndorsementChecker.GenesisActor; reserved, so no registered subject carries it.</summary>
    public const string GenesisActorId = "genesis";

    private NetworkFoundingDecider() { }

    public static NetworkState Initial => NetworkDecider.Initial;

    public static IReadOnlyList<INetworkEvent> Decide(INetworkCommand command, NetworkState state) => command switch
    {
        JoinHospital c when IsFounding(c) => [NetworkDecider.FoundingJoin(c, state)],
        ChangeEndorsementPolicy c when IsFounding(c) => [NetworkDecider.FoundingPolicy(c, state)],
        _ => NetworkDecider.Decide(command, state),
    };

    public static NetworkState Evolve(NetworkState state, INetworkEvent @event) => NetworkDecider.Evolve(state, @event);

    private static bool IsFounding(INetworkCommand command) =>
        command.Actor.Role == Role.Admin && string.Equals(command.Actor.Id, GenesisActorId, StringComparison.Ordinal);
}
