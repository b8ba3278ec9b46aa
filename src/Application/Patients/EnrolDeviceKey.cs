using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

/// <summary>
/// Enrols the patient's device key (<c>POST /patients/{id}/device-key</c>): its public half (base64 SubjectPublicKeyInfo)
/// and its own signature of the enrolment statement made at <paramref name="SignedAt"/>. The first by the patient; a
/// replacement by an admin of the home hospital, with a <paramref name="Reason"/> (PatientDecider decides which).
/// </summary>
public sealed record EnrolDeviceKeyCommand(Guid PatientId, string PublicKey, DateTimeOffset SignedAt, string Proof, string? Reason, CommandContext Context)
    : IRequest<DeviceKeyEnrolledResult>;

public sealed record DeviceKeyEnrolledResult(string KeyId, Receipt Receipt);

public sealed class EnrolDeviceKeyValidator : AbstractValidator<EnrolDeviceKeyCommand>
{
    public EnrolDeviceKeyValidator()
    {
        RuleFor(c => c.PublicKey).ShortText(400);
        RuleFor(c => c.Proof).ShortText(200);
        RuleFor(c => c.Reason).MaximumLength(500);
    }
}

public sealed class EnrolDeviceKeyHandler(PatientStream patients) : IRequestHandler<EnrolDeviceKeyCommand, DeviceKeyEnrolledResult>
{
    public async ValueTask<DeviceKeyEnrolledResult> Handle(EnrolDeviceKeyCommand c, CancellationToken ct)
    {
        // The key id is the key's own (P256.KeyIdOf); a key that is none is refused by the decider.
        var keyId = Domain.Common.P256.KeyIdOf(c.PublicKey) ?? "";
        var result = await patients.ExecuteAsync(c.PatientId, at => new EnrolDeviceKey(
            c.PublicKey, new PatientSignature(keyId, c.SignedAt.ToUniversalTime(), c.Proof), c.Reason, c.Context.Actor, at), c.Context, ct);
        return new(keyId, result.Receipt);
    }
}
