using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>Any member hospital's admin registers a researcher of an organisation.</summary>
public sealed record RegisterResearcherCommand(string ResearcherId, string Organisation, CommandContext Context)
    : IRequest<ResearcherRegisteredResult>;

public sealed record ResearcherRegisteredResult(string ResearcherId, Receipt Receipt);

public sealed class RegisterResearcherValidator : AbstractValidator<RegisterResearcherCommand>
{
    public RegisterResearcherValidator()
    {
        RuleFor(c => c.ResearcherId).SubjectId();
        RuleFor(c => c.Organisation).ShortText(200);
    }
}

public sealed class RegisterResearcherHandler(NetworkStream network) : IRequestHandler<RegisterResearcherCommand, ResearcherRegisteredResult>
{
    public async ValueTask<ResearcherRegisteredResult> Handle(RegisterResearcherCommand c, CancellationToken ct)
    {
        var result = await network.ExecuteAsync(at => new RegisterResearcher(c.ResearcherId, c.Organisation.Trim(), c.Context.Actor, at), c.Context, ct);
        return new(c.ResearcherId, result.Receipt);
    }
}
