using HealthEvents.Domain.Common;
using Marten;

namespace HealthEvents.Projections.Views.Consents;

/// <summary>
/// A patient's consents at a time: <see cref="Active"/> (in force), <see cref="Upcoming"/> (granted, not started yet)
/// and <see cref="Past"/> (revoked or expired). Each list is ordered by grant time.
/// </summary>
public sealed record ConsentList(
    IReadOnlyList<ConsentDocument> Active, IReadOnlyList<ConsentDocument> Upcoming, IReadOnlyList<ConsentDocument> Past);

public sealed class ConsentQuery(ReadModelStore readModels)
{
    public async Task<ConsentList> ListAsync(Guid patientId, DateTimeOffset at, CancellationToken ct = default)
    {
        var all = await AllAsync(patientId, ct);
        return new ConsentList(
            all.Where(c => c.IsActiveAt(at)).ToList(),
            all.Where(c => c.IsUpcomingAt(at)).ToList(),
            all.Where(c => !c.IsActiveAt(at) && !c.IsUpcomingAt(at)).ToList());
    }

    /// <summary>Whether <paramref name="actor"/> is the grantee of a consent of the patient active at <paramref name="at"/>
    /// (the domain's matching rule: practitioner id, hospital or role).</summary>
    private async Task<IReadOnlyList<ConsentDocument>> AllAsync(Guid patientId, CancellationToken ct)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var all = await session.Query<ConsentDocument>().Where(x => x.PatientId == patientId).ToListAsync(ct);
        return all.OrderBy(c => c.GrantedAt).ThenBy(c => c.ConsentId).ToList();
    }
}
