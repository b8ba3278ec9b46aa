using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record UseEmergencyAccessCommand(Guid PatientId, [Narrative] string Reason, CommandContext Context) : IRequest<AccessOutcome>;

public sealed class UseEmergencyAccessValidator : AbstractValidator<UseEmergencyAccessCommand>
{
    public UseEmergencyAccessValidator() =>
        RuleFor(c => c.Reason).ShortText(500).WithMessage("Break-glass access needs a reason.");
}

public sealed class UseEmergencyAccessHandler(PatientStream patients, AccessOutcomes outcomes)
    : IRequestHandler<UseEmergencyAccessCommand, AccessOutcome>
{
    public async ValueTask<AccessOutcome> Handle(UseEmergencyAccessCommand c, CancellationToken ct)
    {
        var accessId = DeterministicIds.EventId(c.Context.CommandId, -1);
        var result = await patients.ExecuteAsync(c.PatientId,
            at => new UseEmergencyAccess(accessId, c.Reason, c.Context.Actor, at), c.Context, ct);
        return await outcomes.FromAsync(c.PatientId, result, ct);
    }
}
