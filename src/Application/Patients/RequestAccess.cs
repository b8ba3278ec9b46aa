using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record RequestAccessCommand(Guid PatientId, string Purpose, IReadOnlyList<string> Categories, CommandContext Context)
    : IRequest<AccessOutcome>;

public sealed class RequestAccessValidator : AbstractValidator<RequestAccessCommand>
{
    public RequestAccessValidator()
    {
        RuleFor(c => c.Purpose).OneOf<RequestAccessCommand, Purpose>();
        RuleFor(c => c.Categories).NonEmptyListOf<RequestAccessCommand, Category>(GrantConsentValidator.AllGeneral);
    }
}

public sealed class RequestAccessHandler(PatientStream patients, AccessOutcomes outcomes) : IRequestHandler<RequestAccessCommand, AccessOutcome>
{
    public async ValueTask<AccessOutcome> Handle(RequestAccessCommand c, CancellationToken ct)
    {
        var accessId = DeterministicIds.EventId(c.Context.CommandId, -1);
        var result = await patients.ExecuteAsync(c.PatientId, at => new RequestAccess(
            accessId, ValidationRules.Parse<Purpose>(c.Purpose), GrantConsentValidator.Expand(c.Categories), c.Context.Actor, at), c.Context, ct);
        return await outcomes.FromAsync(c.PatientId, result, ct);
    }
}
