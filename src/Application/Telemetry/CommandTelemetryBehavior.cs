using System.Reflection;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Patients;
using Mediator;

namespace HealthEvents.Application.Telemetry;

/// <summary>
/// The outermost step of the command pipeline: the command's span and measurements around validation and the handler,
/// so a command refused by its validators counts as refused too. The type is the message's name without its
/// <c>Command</c> suffix (<c>GrantConsent</c>); a recorded denial of access counts as <c>denied</c>, code <c>access-denied</c>.
/// </summary>
public sealed class CommandTelemetryBehavior<TMessage, TResponse>(CommandTelemetry telemetry) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    private static readonly string Name = typeof(TMessage).Name.EndsWith("Command", StringComparison.Ordinal)
        ? typeof(TMessage).Name[..^"Command".Length]
        : typeof(TMessage).Name;

    // Every command message carries its context as a property named Context (the correlation id, the actor's role).
    private static readonly PropertyInfo? Context = typeof(TMessage).GetProperty("Context", typeof(CommandContext));

    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        using var run = telemetry.Begin(Name, Context?.GetValue(message) as CommandContext);
        try
        {
            var response = await next(message, cancellationToken);
            if (response is AccessOutcome { Granted: false }) run?.Denied("access-denied");
            else run?.Accepted();
            return response;
        }
        catch (Exception e)
        {
            run?.Failed(e);
            throw;
        }
    }
}
