using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Insurance;

/// <summary>The insurance view: one <see cref="InsuranceDocument"/> per insured patient.</summary>
public sealed class InsuranceProjection() : PatientView(ProjectionName, typeof(InsuranceDocument))
{
    public const string ProjectionName = "insurance";

    protected override async Task ApplyAsync(IDocumentSession session, Guid patientId, ProjectedEvent e, CancellationToken ct)
    {
        switch (e.Event)
        {
            case InsuranceLinked l:
            {
                var doc = await session.LoadAsync<InsuranceDocument>(patientId, ct)
                          ?? new InsuranceDocument { Id = patientId, PatientId = patientId };
                session.Store(doc with
                {
                    Periods = [.. doc.Periods, new InsurancePeriodView(l.Insurer, l.ValidFrom, l.ValidUntil, null, e.Metadata.OccurredAt)],
                });
                break;
            }
            case InsuranceEnded ended:
            {
                if (await session.LoadAsync<InsuranceDocument>(patientId, ct) is not { } doc) return;
                var open = doc.Periods.Select((p, i) => (p, i)).LastOrDefault(x => x.p.EndedAt is null);
                if (open.p is null) return;
                var periods = doc.Periods.ToList();
                periods[open.i] = open.p with { EndedAt = ended.EndedAt };
                session.Store(doc with { Periods = periods });
                break;
            }
        }
    }
}
