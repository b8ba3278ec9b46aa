using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Marten;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>
/// An accounting of disclosures (HIPAA 45 CFR §164.528): every time the patient's data left the record for someone else,
/// between <see cref="From"/> (inclusive) and <see cref="To"/> (exclusive), oldest first.
/// </summary>
public sealed record DisclosureReport(Guid PatientId, DateTimeOffset From, DateTimeOffset To, DateTimeOffset GeneratedAt, IReadOnlyList<Disclosure> Disclosures);

/// <summary>
/// One disclosure with what §164.528(b)(2) asks for: its date (<see cref="At"/>), who received it
/// (<see cref="Recipient"/>, of <see cref="Organisation"/>), what was disclosed (<see cref="Disclosed"/>, categories)
/// and why (<see cref="Purpose"/>, and <see cref="Description"/> in words). <see cref="Emergency"/>: break-glass, without
/// consent, for <see cref="Reason"/>. <see cref="EventId"/> and <see cref="Hash"/> find it in the verifiable trail.
/// </summary>
public sealed record Disclosure(
    DateTimeOffset At, DisclosureRecipient Recipient, DisclosureOrganisation Organisation, IReadOnlyList<Category> Disclosed,
    Purpose Purpose, bool Emergency, string? Reason, string Description, Guid EventId, string Hash);

/// <summary>The person who received the data: their id and role as the network registers them.</summary>
public sealed record DisclosureRecipient(string Id, Role Role);

/// <summary>The recipient's organisation by name: a member hospital (<see cref="HospitalId"/>), or a researcher's institution.</summary>
public sealed record DisclosureOrganisation(string Name, string? HospitalId);

/// <summary>Builds the accounting from the patient audit view.</summary>
public sealed class DisclosureQuery(ReadModelStore readModels)
{
    /// <summary>What counts as a disclosure: a granted access, a break-glass access, and a research publication that counted the patient.</summary>
    public static readonly IReadOnlyList<string> Actions = [AuditActions.AccessGranted, AuditActions.EmergencyAccess, AuditActions.ResearchUse];

    /// <summary>
    /// The patient's disclosures at <paramref name="from"/> or later and before <paramref name="to"/>. The patient's own
    /// reads are not disclosures (§164.528(a)(1)(iii)) and are left out; those for treatment, payment and operations,
    /// which §164.528(a)(1)(i) would allow leaving out, are kept: the patient sees every release. Names come from
    /// <paramref name="network"/> (a hospital's name, a researcher's organisation).
    /// </summary>
    public async Task<DisclosureReport> ReportAsync(
        Guid patientId, DateTimeOffset from, DateTimeOffset to, NetworkState network, DateTimeOffset now, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var actions = Actions.ToArray();
        var rows = await session.Query<AuditEntry>()
            .Where(x => x.PatientId == patientId && x.Action.IsOneOf(actions) && x.At >= from && x.At < to)
            .OrderBy(x => x.At).ThenBy(x => x.StreamVersion).ThenBy(x => x.Sequence)
            .ToListAsync(ct);
        // The role is filtered here: the view stores it as the serializer writes the enum, which SQL need not know.
        return new DisclosureReport(patientId, from, to, now, [.. rows.Where(r => r.Actor.Role != Role.Patient).Select(row => Of(row, network))]);
    }

    private static Disclosure Of(AuditEntry row, NetworkState network)
    {
        var organisation = row.Actor.Role == Role.Researcher
            ? new DisclosureOrganisation(network.Researchers.TryGetValue(row.Actor.Id, out var researcher) ? researcher.Organisation : row.Actor.Hospital, null)
            : new DisclosureOrganisation(network.Hospitals.TryGetValue(row.Actor.Hospital, out var hospital) ? hospital.Name : row.Actor.Hospital, row.Actor.Hospital);
        var categories = string.Join(", ", row.Categories.Select(KebabCase.Of));
        var (purpose, emergency, description) = row.Action switch
        {
            AuditActions.EmergencyAccess => (Purpose.Treatment, true, $"Emergency access (break-glass), without consent, to {categories}."),
            AuditActions.ResearchUse => (Purpose.Research, false,
                $"Counted, under a pseudonym, in the published aggregates of research projection '{row.ResearchProjection}' ({categories})."),
            _ => (row.Purpose ?? Purpose.Treatment, false, $"Read access to {categories}, under consent."),
        };
        return new Disclosure(row.At, new DisclosureRecipient(row.Actor.Id, row.Actor.Role), organisation, row.Categories, purpose,
            emergency, emergency ? row.Reason : null, description, row.EventId, row.Hash);
    }
}
