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
                if (await LoadAsync(session, patientId, n.ConsentId, ct) is { } narrowed)
                    session.Store(narrowed with
                    {
                        Categories = n.Categories, Purposes = n.Purposes, Actions = n.Actions, ValidUntil = n.ValidUntil,
                        NarrowedAt = e.Metadata.OccurredAt,
                    });
                break;
            case ConsentRevoked r:
                if (await LoadAsync(session, patientId, r.ConsentId, ct) is { RevokedAt: null } consent)
                    session.Store(consent with { RevokedAt = e.Metadata.OccurredAt });
                break;
        }
    }

    /// <summary>
    /// The patient's consent document: under <see cref="ConsentDocument.IdOf"/>, or — in a view built before consents were
    /// keyed by patient too — under the consent id alone, when it is this patient's.
    /// </summary>
    private static async Task<ConsentDocument?> LoadAsync(IDocumentSession session, Guid patientId, Guid consentId, CancellationToken ct) =>
        await session.LoadAsync<ConsentDocument>(ConsentDocument.IdOf(patientId, consentId), ct)
        ?? (await session.LoadAsync<ConsentDocument>(consentId, ct) is { } older && older.PatientId == patientId ? older : null);
}
