using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record CorrectPatientDetailsCommand(Guid PatientId, int BirthYear, string Sex, string Name, CommandContext Context)
    : IRequest<Receipt>, IDemographicsInput;

public sealed class CorrectPatientDetailsValidator : AbstractValidator<CorrectPatientDetailsCommand>
{
    public CorrectPatientDetailsValidator() => Include(new DemographicsValidator());
}

public sealed class CorrectPatientDetailsHandler(PatientStream patients, IPatientCipher cipher)
    : IRequestHandler<CorrectPatientDetailsCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(CorrectPatientDetailsCommand c, CancellationToken ct)
    {
        return (await patients.ExecuteSealedAsync(c.PatientId, t => new Demographics(c.Name).SealAsync(cipher, c.PatientId, t),
            (demographics, at) => new CorrectPatientDetails(
                c.BirthYear, ValidationRules.Parse<Sex>(c.Sex), demographics, c.Context.Actor, at), c.Context, ct)).Receipt;
    }
}
