namespace HealthEvents.Application.Ports;

/// <summary>
/// Where this node keeps the hash of the network's founding it trusts (<see cref="Network.NetworkGenesisPin"/>): a
/// place only this node writes, outside the event store — in the node's data folder, beside its keys.
/// </summary>
public interface IGenesisPinStore
{
    /// <summary>The pinned hash (32 bytes), or null when nothing is pinned yet.</summary>
    /// <exception cref="InvalidDataException">What is stored is not a SHA-256 hash.</exception>
    byte[]? Read();

    /// <summary>Pins <paramref name="hash"/> (32 bytes), replacing nothing: called only while nothing is pinned.</summary>
    void Write(byte[] hash);

    /// <summary>Where the pin is kept, for messages to the operator.</summary>
    string Location { get; }
}
