using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record RegisterPatientCommand(
    Guid? PatientId, string HomeHospital, int BirthYear, string Sex, string Name, CommandContext Context)
    : IRequest<PatientRegisteredResult>, IDemographicsInput;

public sealed record PatientRegisteredResult(Guid PatientId, Receipt Receipt);

public sealed class RegisterPatientValidator : AbstractValidator<RegisterPatientCommand>
{
    public RegisterPatientValidator()
    {
        RuleFor(c => c.PatientId).NotEqual(Guid.Empty);
        RuleFor(c => c.HomeHospital).ShortText(100);
        Include(new DemographicsValidator());
    }
}

public sealed class RegisterPatientHandler(PatientStream patients, IPatientCipher cipher)
    : IRequestHandler<RegisterPatientCommand, PatientRegisteredResult>
{
    public async ValueTask<PatientRegisteredResult> Handle(RegisterPatientCommand c, CancellationToken ct)
    {
        // Derived from the command when not given: a retried registration targets the same stream, never a second patient.
        var patientId = c.PatientId ?? DeterministicIds.Named($"patient|{c.Context.CommandId:D}");
        var result = await patients.ExecuteSealedAsync(patientId, t => new Demographics(c.Name).SealAsync(cipher, patientId, t),
            (demographics, at) => new RegisterPatient(
                patientId, c.HomeHospital, c.BirthYear, ValidationRules.Parse<Sex>(c.Sex), demographics, c.Context.Actor, at), c.Context, ct);
        return new(patientId, result.Receipt);
    }
}
