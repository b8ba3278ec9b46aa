using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record RetractRecordEntryCommand(Guid PatientId, Guid EntryId, [Narrative] string Reason, CommandContext Context)
    : IRequest<Receipt>;

public sealed class RetractRecordEntryValidator : AbstractValidator<RetractRecordEntryCommand>
{
    public RetractRecordEntryValidator() => RuleFor(c => c.Reason).ShortText(500);
}

public sealed class RetractRecordEntryHandler(PatientStream patients) : IRequestHandler<RetractRecordEntryCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(RetractRecordEntryCommand c, CancellationToken ct) =>
        (await patients.ExecuteAsync(c.PatientId, at => new RetractRecordEntry(c.EntryId, c.Reason, c.Context.Actor, at), c.Context, ct)).Receipt;
}
