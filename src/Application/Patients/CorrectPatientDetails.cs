using System.Text.Json;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record CorrectPatientDetailsCommand(Guid PatientId, int BirthYear, string Sex, string Name, CommandContext Context)
    : IRequest<Receipt>, IHasContext;

public sealed class CorrectPatientDetailsValidator : AbstractValidator<CorrectPatientDetailsCommand>
{
    public CorrectPatientDetailsValidator()
    {
        RuleFor(c => c.BirthYear).InclusiveBetween(1900, DateTime.UtcNow.Year);
        RuleFor(c => c.Sex).OneOf<CorrectPatientDetailsCommand, Sex>();
        RuleFor(c => c.Name).ShortText(300);
    }
}

public sealed class CorrectPatientDetailsHandler(PatientCommands patients, IPatientCipher cipher)
    : IRequestHandler<CorrectPatientDetailsCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(CorrectPatientDetailsCommand c, CancellationToken ct)
    {
        var demographics = await cipher.EncryptAsync(c.PatientId, JsonSerializer.Serialize(new Demographics(c.Name)), ct);
        return (await patients.ExecuteAsync(c.PatientId, at => new CorrectPatientDetails(
            c.BirthYear, ValidationRules.Parse<Sex>(c.Sex), demographics, c.Context.Actor, at), c.Context, ct)).Receipt;
    }
}
