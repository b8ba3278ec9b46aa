namespace HealthEvents.Domain.Common;

/// <summary>
/// Every domain command: who issues it and when, both passed in (deciders have no clock). An endorser holds
/// the command's actor and time against the caller's credential and its own clock before re-running it.
/// </summary>
public interface IDomainCommand
{
    Actor Actor { get; }
    DateTimeOffset At { get; }
}
