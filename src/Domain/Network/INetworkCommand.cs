using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public interface INetworkCommand : IDomainCommand;
