using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Consents;

/// <summary>One consent of a patient, as granted or last narrowed, and when (if) it was revoked.</summary>
public sealed record ConsentDocument
{
    /// <summary>The document id: <see cref="IdOf"/> the patient and the consent.</summary>
    public Guid Id { get; init; }

    /// <summary>
    /// The document id of <paramref name="consentId"/> in <paramref name="patientId"/>'s stream: the first 16 bytes of
    /// SHA-256 over both. A consent id is the client's choice and unique only within one patient's stream (the decider's
    /// rule), so it cannot key the view alone: another patient's grant with the same id would overwrite this one.
    /// </summary>
    public static Guid IdOf(Guid patientId, Guid consentId)
    {
        Span<byte> both = stackalloc byte[32];
        patientId.TryWriteBytes(both[..16]);
        consentId.TryWriteBytes(both[16..]);
        return new Guid(System.Security.Cryptography.SHA256.HashData(both)[..16]);
    }

    public Guid ConsentId { get; init; }
    public Guid PatientId { get; init; }
    public Grantee Grantee { get; init; } = new(GranteeKind.Practitioner, "");
    public IReadOnlyList<Category> Categories { get; init; } = [];
    public IReadOnlyList<Purpose> Purposes { get; init; } = [];
    public IReadOnlyList<AccessAction> Actions { get; init; } = [];

    /// <summary>Inclusive.</summary>
    public DateTimeOffset ValidFrom { get; init; }

    /// <summary>Exclusive; open-ended when null.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    public DateTimeOffset GrantedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>When the patient last narrowed it (categories, purposes, actions and end are then the narrowed ones).</summary>
    public DateTimeOffset? NarrowedAt { get; init; }

    public bool Revoked => RevokedAt is not null;

    /// <summary>Active: not revoked, started and not expired (same rule as the domain's ConsentRule).</summary>
    public bool IsActiveAt(DateTimeOffset at) => !Revoked && ValidFrom <= at && (ValidUntil is not { } until || at < until);

    /// <summary>A consent as <paramref name="g"/> granted it, at <paramref name="grantedAt"/> (the command's time).</summary>
    public static ConsentDocument Granted(Guid patientId, ConsentGranted g, DateTimeOffset grantedAt) => new()
    {
        Id = IdOf(patientId, g.ConsentId),
        ConsentId = g.ConsentId,
        PatientId = patientId,
        Grantee = g.Grantee,
        Categories = g.Categories,
        Purposes = g.Purposes,
        Actions = g.Actions,
        ValidFrom = g.ValidFrom,
        ValidUntil = g.ValidUntil,
        GrantedAt = grantedAt,
    };

    /// <summary>Not revoked and not started yet.</summary>
    public bool IsUpcomingAt(DateTimeOffset at) => !Revoked && at < ValidFrom;
}

/// <summary>
/// A patient's consents at a time: <see cref="Active"/> (in force), <see cref="Upcoming"/> (granted, not started yet)
/// and <see cref="Past"/> (revoked or expired). Each list is ordered by grant time.
/// </summary>
public sealed record ConsentList(
    IReadOnlyList<ConsentDocument> Active, IReadOnlyList<ConsentDocument> Upcoming, IReadOnlyList<ConsentDocument> Past)
{
    /// <summary>The same lists, each keeping only the consents <paramref name="keep"/> accepts.</summary>
    public ConsentList Where(Func<ConsentDocument, bool> keep) =>
        new([.. Active.Where(keep)], [.. Upcoming.Where(keep)], [.. Past.Where(keep)]);
}

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

    private async Task<IReadOnlyList<ConsentDocument>> AllAsync(Guid patientId, CancellationToken ct)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var all = await session.Query<ConsentDocument>().Where(x => x.PatientId == patientId).ToListAsync(ct);
        return all.OrderBy(c => c.GrantedAt).ThenBy(c => c.ConsentId).ToList();
    }
}
