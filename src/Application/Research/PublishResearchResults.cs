using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Research;
using Mediator;

namespace HealthEvents.Application.Research;

/// <summary>
/// Records, before a result is served, which patients it counted (their audit shows it as a research use). The
/// publication id is the command id. Serving the same result again records nothing (the receipt then has no events).
/// </summary>
public sealed record PublishResearchResultsCommand(string Projection, string Digest, IReadOnlyList<ResearchUse> Uses, CommandContext Context)
    : IRequest<Receipt>;

public sealed class PublishResearchResultsHandler(ResearchStream research) : IRequestHandler<PublishResearchResultsCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(PublishResearchResultsCommand c, CancellationToken ct)
    {
        var uses = c.Uses.OrderBy(u => u.PatientId).ToList();
        var result = await research.ExecuteAsync(
            at => new PublishResearchResults(c.Projection, c.Context.CommandId, c.Digest, uses, c.Context.Actor, at), c.Context, ct);
        return result.Receipt;
    }
}
