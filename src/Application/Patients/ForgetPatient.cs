using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record ForgetPatientCommand(Guid PatientId, CommandContext Context, PatientSignature? Signature = null) : IRequest<Receipt>;

public sealed class ForgetPatientHandler(PatientStream patients, IPatientCipher cipher) : IRequestHandler<ForgetPatientCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(ForgetPatientCommand c, CancellationToken ct)
    {
        // Anyone but a patient on their own id is refused before the stream is read: an unknown patient and someone
        // else's look the same to them.
        if (!c.Context.Actor.IsPatient(c.PatientId))
            throw RejectedException.Forbidden("not-the-patient", "Only the patient can ask to be forgotten.");
        // Judged (the patient, through their home hospital) before anything irreversible; then the key is destroyed
        // first: if the append then fails, the content is already unreadable and a retry records the event — the other
        // order could record a forgetting that did not happen.
        var result = await patients.ExecuteSealedAsync(c.PatientId,
            async t =>
            {
                await cipher.ForgetAsync(c.PatientId, t);
                return "";
            },
            (_, at) => new ForgetPatient(c.Context.Actor, at, c.Signature), c.Context, ct);
        return result.Receipt;
    }
}
