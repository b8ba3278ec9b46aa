using HealthEvents.Application.Commands;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record EndInsuranceCommand(Guid PatientId, CommandContext Context) : IRequest<Receipt>;

public sealed class EndInsuranceHandler(PatientStream patients) : IRequestHandler<EndInsuranceCommand, Receipt>
{
    public async ValueTask<Receipt> Handle(EndInsuranceCommand c, CancellationToken ct) =>
        (await patients.ExecuteAsync(c.PatientId, at => new EndInsurance(c.Context.Actor, at), c.Context, ct)).Receipt;
}
