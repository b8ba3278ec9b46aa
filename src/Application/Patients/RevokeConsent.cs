using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record RevokeConsentCommand(Guid PatientId, Guid ConsentId, CommandContext Context, PatientSignature? Signature = null) : IRequest<Receipt>;

public sealed class RevokeConsentHandler(PatientStream patients) : IRequestHandler<RevokeConsentCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(RevokeConsentCommand c, CancellationToken ct) =>
        (await patients.ExecuteAsync(c.PatientId, at => new RevokeConsent(c.ConsentId, c.Context.Actor, at, c.Signature), c.Context, ct)).Receipt;
}
