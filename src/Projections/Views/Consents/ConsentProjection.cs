using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Consents;

/// <summary>The consent view: one <see cref="ConsentDocument"/> per consent. Kept after PatientForgotten (no clinical content).</summary>
public sealed class ConsentProjection : IProjection
{
    public const string ProjectionName = "consents";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(ConsentDocument)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (e.PatientId is not { } patientId) return;
        switch (e.Event)
        {
            case ConsentGranted g:
                session.Store(new ConsentDocument
                {
                    Id = g.ConsentId,
                    ConsentId = g.ConsentId,
                    PatientId = patientId,
                    Grantee = g.Grantee,
                    Categories = g.Categories,
                    Purposes = g.Purposes,
                    Actions = g.Actions,
                    ValidFrom = g.ValidFrom,
                    ValidUntil = g.ValidUntil,
                    GrantedAt = e.Metadata.OccurredAt,
                });
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
