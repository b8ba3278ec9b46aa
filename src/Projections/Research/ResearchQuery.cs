using System.Security.Cryptography;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Research;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Consents;
using Marten;

namespace HealthEvents.Projections.Research;

public static class ResearchStatus
{
    /// <summary>Replaying history (after the declaration or a rebuild): progress shows how far; no rows are served.</summary>
    public const string Building = "building";

    /// <summary>Caught up with the log and kept up to date: rows are served.</summary>
    public const string Live = "live";
}

public sealed record ResearchProgress(long EventsDone, long? EventsTotal);

public sealed record ResearchDefinitionView(
    string Researcher, ResearchFilter Filter, IReadOnlyList<ResearchDimension> GroupBy, int K, DateTimeOffset DeclaredAt);

/// <summary>What the researcher sees: aggregates only, never a patient or a pseudonym.</summary>
public sealed record ResearchProjectionView(
    string Name,
    string Projection,
    string Status,
    ResearchProgress Progress,
    ResearchDefinitionView Definition,
    DateTimeOffset? ReferenceDate,
    IReadOnlyList<ResearchCell> Rows,
    ResearchCount? Total);

/// <summary>
/// A result and, for the publication step inside the service only, the patients its published numbers count and a
/// digest of it. <see cref="Uses"/> must never reach the researcher.
/// </summary>
public sealed record ResearchResult(ResearchProjectionView View, string ResearcherId, string? Digest, IReadOnlyList<ResearchUse> Uses);

/// <summary>
/// Reads research projections: status and progress from the runner, rows computed from the pseudonymous subjects at
/// read time (consents in force now), k-anonymised. To record who was counted (the patients' audit shows each
/// publication), it maps pseudonyms back to patients here, inside the service, by computing the HMAC of each patient that
/// holds a research consent in the consent view; a subject that cannot be mapped is left out of the result.
/// </summary>
public sealed class ResearchQuery(
    ReadModelStore readModels,
    ResearchCatalog catalog,
    ProjectionRunner runner,
    IClock? clock = null,
    IEventLogStatistics? statistics = null)
{
    private static readonly TimeSpan ConsentViewWait = TimeSpan.FromSeconds(2);
    private readonly IClock _clock = clock ?? new SystemClock();

    /// <summary>The projection's definition, now running on this node's runner; null when no projection has this name.</summary>
    public async Task<ResearchDefinition?> StartAsync(string name, CancellationToken ct = default)
    {
        if (await catalog.FindAsync(name, ct) is not { } projection) return null;
        runner.Add(projection);
        return projection.Definition;
    }

    /// <summary>The definition of research projection <paramref name="name"/>, or null.</summary>
    public async Task<ResearchDefinition?> FindAsync(string name, CancellationToken ct = default) =>
        (await catalog.FindAsync(name, ct))?.Definition;

    /// <summary>Status, progress and (when live) the rows of research projection <paramref name="name"/>; null when unknown.</summary>
    public async Task<ResearchResult?> GetAsync(string name, CancellationToken ct = default)
    {
        if (await StartAsync(name, ct) is not { } definition) return null;
        var status = (await runner.GetStatusAsync(ct)).Single(s => s.Name == definition.ProjectionName);
        var total = statistics is null ? null : await statistics.CountEventsAsync(ct);
        // Live: caught up here, or (run elsewhere, or just taken over after a rebuild) its checkpoint covers the log.
        var live = (status.RunningHere && status.CaughtUp)
                   || (status.Checkpoint is not null && total is { } t && status.EventsProcessed >= t);
        // Uncounted (EventStoreDB has no count) but caught up here: what it processed is the whole log.
        var progress = new ResearchProgress(status.EventsProcessed,
            total is { } n ? Math.Max(n, status.EventsProcessed) : live && status.RunningHere ? status.EventsProcessed : null);
        var declared = definition.Declaration;
        var view = new ResearchProjectionView(definition.Name, definition.ProjectionName, live ? ResearchStatus.Live : ResearchStatus.Building,
            progress, new ResearchDefinitionView(declared.ResearcherId, declared.Filter, declared.GroupBy, declared.K, declared.DeclaredAt),
            null, [], null);
        if (!live || status.Checkpoint is not { } checkpoint) return new ResearchResult(view, definition.ResearcherId, null, []);

        // Patients are mapped through the consent view: let it catch up with this projection first.
        await runner.WaitForAsync(ConsentProjection.ProjectionName, checkpoint, ConsentViewWait, ct);
        await using var session = await readModels.QuerySessionAsync(ct);
        var projection = definition.ProjectionName;
        var subjects = await session.Query<ResearchSubject>().Where(x => x.Projection == projection).ToListAsync(ct);
        var key = await session.LoadAsync<ResearchKey>(projection, ct);
        var patients = key is null || subjects.Count == 0
            ? new Dictionary<string, Candidate>()
            : await CandidatesAsync(session, definition, new ResearchPseudonyms(key.Key), ct);

        var table = ResearchTable.Compute(definition, subjects.Where(s => patients.ContainsKey(s.Id)), _clock.UtcNow);
        var uses = table.Contributors.Select(c =>
        {
            var p = patients[c.SubjectId];
            return new ResearchUse(p.PatientId, [.. c.Categories.Order()],
                [.. c.ConsentKeys.Select(k => p.Consents.GetValueOrDefault(k)).Where(id => id != Guid.Empty).Order()]);
        }).OrderBy(u => u.PatientId).ToList();
        view = view with { ReferenceDate = table.ReferenceDate, Rows = table.Rows, Total = table.Total };
        return new ResearchResult(view, definition.ResearcherId, uses.Count == 0 ? null : Digest(table, uses), uses);
    }

    private sealed record Candidate(Guid PatientId, Dictionary<string, Guid> Consents);

    /// <summary>Subject id to patient, for every patient with a research consent to this researcher in the consent view.</summary>
    private static async Task<Dictionary<string, Candidate>> CandidatesAsync(
        IQuerySession session, ResearchDefinition definition, ResearchPseudonyms pseudonyms, CancellationToken ct)
    {
        var consents = await session.Query<ConsentDocument>().Where(x => x.Purposes.Contains(Purpose.Research)).ToListAsync(ct);
        var result = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        foreach (var patient in consents.Where(c => definition.GrantedToResearcher(c.Grantee)).GroupBy(c => c.PatientId))
        {
            var id = ResearchProjection.SubjectIdOf(definition.ProjectionName, pseudonyms.Patient(patient.Key));
            result[id] = new Candidate(patient.Key, patient.ToDictionary(c => pseudonyms.Consent(c.ConsentId), c => c.ConsentId, StringComparer.Ordinal));
        }
        return result;
    }

    /// <summary>Identifies a result: its rows and total, and who they count. Serving it again is the same publication.</summary>
    private static string Digest(ResearchTableResult table, IReadOnlyList<ResearchUse> uses)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new { table.Rows, table.Total, patients = uses.Select(u => u.PatientId) }, Json.Options);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
