namespace HealthEvents.Domain.Network;

/// <summary>Endorsement keys sign transactions and checkpoints; identity keys sign caller tokens.</summary>
public enum KeyUse { Endorsement, Identity }
