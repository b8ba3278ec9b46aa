using System.Security.Cryptography;
using System.Text;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record LinkInsuranceCommand(
    Guid PatientId, string Insurer, string PolicyReference, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil, CommandContext Context)
    : IRequest<Receipt>;

public sealed class LinkInsuranceValidator : AbstractValidator<LinkInsuranceCommand>
{
    public LinkInsuranceValidator()
    {
        RuleFor(c => c.Insurer).ShortText(200);
        RuleFor(c => c.PolicyReference).ShortText(200);
        RuleFor(c => c.ValidUntil).GreaterThan(c => c.ValidFrom).WithMessage("validUntil must be after validFrom.");
    }
}

public sealed class LinkInsuranceHandler(PatientStream patients) : IRequestHandler<LinkInsuranceCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(LinkInsuranceCommand c, CancellationToken ct) =>
        (await patients.ExecuteAsync(c.PatientId, at => new LinkInsurance(
            c.Insurer, PolicyReferenceHash(c.PatientId, c.PolicyReference),
            c.ValidFrom.ToUniversalTime(), c.ValidUntil.ToUniversalTime(), c.Context.Actor, at), c.Context, ct)).Receipt;

    /// <summary>Only a hash of the policy reference is stored, salted with the patient id so equal references do not link patients.</summary>
    public static string PolicyReferenceHash(Guid patientId, string policyReference) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{patientId:N}:{policyReference.Trim()}")));
}
