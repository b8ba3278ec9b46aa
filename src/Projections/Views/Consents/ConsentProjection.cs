using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Consents;

/// <summary>The consent view: one <see cref="ConsentDocument"/> per consent. Kept after PatientForgotten (no clinical content).</summary>
public sealed class ConsentProjection() : PatientView(ProjectionName, typeof(ConsentDocument))
{
    public const string ProjectionName = "consents";

    protected override async Task ApplyAsync(IDocumentSession session, Guid patientId, ProjectedEvent e, CancellationToken ct)
    {
        switch (e.Event)
        {
            case ConsentGranted g:
                session.Store(ConsentDocument.Granted(patientId, g, e.Metadata.OccurredAt));
                break;
            case ConsentNarrowed n:
                if (await session.LoadAsync<ConsentDocument>(n.ConsentId, ct) is { } narrowed)
                    session.Store(narrowed with
                    {
                        Categories = n.Categories, Purposes = n.Purposes, Actions = n.Actions, ValidUntil = n.ValidUntil,
                        NarrowedAt = e.Metadata.OccurredAt,
                    });
                break;
            case ConsentRevoked r:
                if (await session.LoadAsync<ConsentDocument>(r.ConsentId, ct) is { RevokedAt: null } consent)
                    session.Store(consent with { RevokedAt = e.Metadata.OccurredAt });
                break;
        }
    }
}
