using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record ForgetPatientCommand(Guid PatientId, CommandContext Context) : IRequest<Receipt>;

public sealed class ForgetPatientHandler(PatientCommands patients, IPatientCipher cipher) : IRequestHandler<ForgetPatientCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(ForgetPatientCommand c, CancellationToken ct)
    {
        // Only the patient may forget; check before destroying anything irreversible.
        if (!c.Context.Actor.IsPatient(c.PatientId))
            throw RejectedException.Forbidden("not-the-patient", "Only the patient can ask to be forgotten.");
        // Destroy the key first: if the append then fails, the content is already unreadable and a
        // retry records the event; the other order could record a forgetting that did not happen.
        await cipher.ForgetAsync(c.PatientId, ct);
        return (await patients.ExecuteAsync(c.PatientId, at => new ForgetPatient(c.Context.Actor, at), c.Context, ct)).Receipt;
    }
}
