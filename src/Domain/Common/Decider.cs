namespace HealthEvents.Domain.Common;

/// <summary>
/// An aggregate as a decider: pure and deterministic. Ids and timestamps arrive with
/// the command, so every endorser re-running Decide gets the same events.
/// </summary>
public interface IDecider<TState, in TCommand, TEvent>
    where TEvent : IEvent
{
    static abstract TState Initial { get; }

    /// <summary>Events the command produces, or a <see cref="RejectedException"/>.</summary>
    static abstract IReadOnlyList<TEvent> Decide(TCommand command, TState state);

    static abstract TState Evolve(TState state, TEvent @event);
}
