using System.Text.Json;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record RegisterPatientCommand(
    Guid? PatientId, string HomeHospital, int BirthYear, string Sex, string Name, CommandContext Context)
    : IRequest<PatientRegisteredResult>, IHasContext;

public sealed record PatientRegisteredResult(Guid PatientId, Receipt Receipt);

/// <summary>Demographics as they are sealed into the event: encrypted as one JSON document.</summary>
public sealed record Demographics(string Name);

public sealed class RegisterPatientValidator : AbstractValidator<RegisterPatientCommand>
{
    public RegisterPatientValidator()
    {
        RuleFor(c => c.PatientId).NotEqual(Guid.Empty);
        RuleFor(c => c.HomeHospital).ShortText(100);
        RuleFor(c => c.BirthYear).InclusiveBetween(1900, DateTime.UtcNow.Year);
        RuleFor(c => c.Sex).OneOf<RegisterPatientCommand, Sex>();
        RuleFor(c => c.Name).ShortText(300);
    }
}

public sealed class RegisterPatientHandler(PatientCommands patients, IPatientCipher cipher)
    : IRequestHandler<RegisterPatientCommand, PatientRegisteredResult>
{
    public async ValueTask<PatientRegisteredResult> Handle(RegisterPatientCommand c, CancellationToken ct)
    {
        var patientId = c.PatientId ?? Guid.NewGuid();
        // Encrypt before deciding: nonces are random, and endorsers must see the same bytes.
        var demographics = await cipher.EncryptAsync(patientId, JsonSerializer.Serialize(new Demographics(c.Name)), ct);
        var result = await patients.ExecuteAsync(patientId, at => new RegisterPatient(
            patientId, c.HomeHospital, c.BirthYear, ValidationRules.Parse<Sex>(c.Sex), demographics, c.Context.Actor, at), c.Context, ct);
        return new(patientId, result.Receipt);
    }
}
