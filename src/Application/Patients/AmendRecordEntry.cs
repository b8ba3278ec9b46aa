using System.Text.Json;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record AmendRecordEntryCommand(Guid PatientId, Guid EntryId, [Narrative] string Text, [Narrative] string Reason, CommandContext Context)
    : IRequest<Receipt>;

public sealed class AmendRecordEntryValidator : AbstractValidator<AmendRecordEntryCommand>
{
    public AmendRecordEntryValidator()
    {
        RuleFor(c => c.Text).NotEmpty().MaximumLength(20_000);
        RuleFor(c => c.Reason).ShortText(500);
    }
}

public sealed class AmendRecordEntryHandler(PatientStream patients, IPatientCipher cipher)
    : IRequestHandler<AmendRecordEntryCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(AmendRecordEntryCommand c, CancellationToken ct)
    {
        var result = await patients.ExecuteSealedAsync(c.PatientId,
            t => cipher.EncryptAsync(c.PatientId, JsonSerializer.Serialize(new EntryContent(null, c.Text)), t),
            (content, at) => new AmendRecordEntry(c.EntryId, content, c.Reason, c.Context.Actor, at), c.Context, ct);
        return result.Receipt;
    }
}
