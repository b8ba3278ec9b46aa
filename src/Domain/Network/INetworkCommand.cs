using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public interface INetworkCommand
{
    Actor Actor { get; }
    DateTimeOffset At { get; }
}
