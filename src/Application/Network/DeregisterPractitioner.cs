using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>An admin of the practitioner's own hospital takes them out of the network; their tokens are refused from then on.</summary>
public sealed record DeregisterPractitionerCommand(string PractitionerId, CommandContext Context) : IRequest<Receipt>;

public sealed class DeregisterPractitionerValidator : AbstractValidator<DeregisterPractitionerCommand>
{
    public DeregisterPractitionerValidator() => RuleFor(c => c.PractitionerId).NotEmpty().MaximumLength(100);
}

public sealed class DeregisterPractitionerHandler(NetworkStream network) : IRequestHandler<DeregisterPractitionerCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(DeregisterPractitionerCommand c, CancellationToken ct) =>
        (await network.ExecuteAsync(at => new DeregisterPractitioner(c.PractitionerId, c.Context.Actor, at), c.Context, ct)).Receipt;
}
