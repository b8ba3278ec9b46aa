namespace HealthEvents.Application.Ports;

/// <summary>
/// Where this node keeps the network's founding it trusts (its length and last hash) (<see cref="Network.NetworkGenesisPin"/>): a
/// place only this node writes, outside the event store — in the node's data folder, beside its keys.
/// </summary>
public interface IGenesisPinStore
{
    /// <summary>The pinned founding, or null when nothing is pinned yet.</summary>
    /// <exception cref="InvalidDataException">What is stored is not a founding pin (<see cref="Network.FoundingPin.Parse"/>).</exception>
    Network.FoundingPin? Read();

    /// <summary>Pins <paramref name="founding"/>: called while nothing is pinned, or to complete an earlier release's pin.</summary>
    void Write(Network.FoundingPin founding);

    /// <summary>Where the pin is kept, for messages to the operator.</summary>
    string Location { get; }
}
