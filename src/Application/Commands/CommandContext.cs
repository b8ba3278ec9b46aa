using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>Who sends a command and under which ids. The command id seeds the event ids, so a retried command maps to the same events.</summary>
public sealed record CommandContext(Actor Actor, Guid CommandId, Guid CorrelationId)
{
    public static CommandContext For(Actor actor) => new(actor, Guid.NewGuid(), Guid.NewGuid());
}
