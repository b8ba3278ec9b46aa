using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Research;

/// <summary>The research stream's entry point: one stream, <c>research</c>, for every declaration and publication.</summary>
public sealed class ResearchStream(CommandExecutor executor, IClock clock)
{
    public const string StreamId = "research";

    public Task<CommandResult<IResearchEvent>> ExecuteAsync(
        Func<DateTimeOffset, IResearchCommand> command, CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        return executor.ExecuteAsync<ResearchDecider, ResearchState, IResearchCommand, IResearchEvent>(StreamId, command(at), at, context, ct);
    }
}

public static class ResearchProjectionNames
{
    public const string Prefix = "research-";

    /// <summary>The runner's name of research projection <paramref name="name"/> (prefixed, so it never meets a built-in view's name).</summary>
    public static string Of(string name) => Prefix + name;
}
