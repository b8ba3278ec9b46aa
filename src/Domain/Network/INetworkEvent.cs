using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

/// <summary>An event of the single <c>network</c> stream.</summary>
public interface INetworkEvent : IEvent;
