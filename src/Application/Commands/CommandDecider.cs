using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>
/// Decides a command against its stream and turns the events into envelopes. Appends nothing and asks
/// no one: the submitter's executor and every endorser's re-execution both go through it.
/// </summary>
public sealed class CommandDecider(StreamLoader loader, EventSerializer serializer)
{
    /// <summary>Loads the stream and decides the command: the events, their bytes and their place in the chain. Appends nothing.</summary>
    public async Task<Decision<TState, TEvent>> DecideAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct, long? asOfVersion = null)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        var snapshot = await loader.LoadAsync<TDecider, TState, TCommand, TEvent>(streamId, ct, asOfVersion);
        var events = TDecider.Decide(command, snapshot.State);
        var metadata = new EventMetadata(context.Actor.Id, context.Actor.Role, context.Actor.Hospital,
            context.CommandId, context.CorrelationId, at).ToBytes();
        var proposed = events
            .Select((e, i) => new ProposedEvent(DeterministicIds.EventId(context.CommandId, i), serializer.NameOf(e), serializer.Serialize(e), metadata))
            .ToList();
        var envelopes = proposed.Count == 0 ? [] : HashChain.Link(streamId, snapshot.Version, snapshot.LastHash, proposed, endorsement: null);
        var after = events.Aggregate(snapshot.State, TDecider.Evolve);
        var home = after is IHasHomeHospital { HomeHospital: { Length: > 0 } h } ? h : null;
        return new(snapshot.State, snapshot.Version, snapshot.LastHash, events, proposed, envelopes, home);
    }
}

/// <summary>
/// A command decided against a stream as it was at <see cref="LastVersion"/>: the domain events, and
/// the envelopes they become — bytes, ids, versions and hashes. The submitter and every endorser build
/// it through the same <see cref="CommandDecider.DecideAsync{TDecider,TState,TCommand,TEvent}"/>, which is what
/// makes "byte-identical on re-execution" a meaningful test.
/// </summary>
public sealed record Decision<TState, TEvent>(
    TState Before, long LastVersion, byte[] LastHash, IReadOnlyList<TEvent> Events,
    IReadOnlyList<ProposedEvent> Proposed, IReadOnlyList<EventEnvelope> Envelopes, string? HomeHospital);
