using HealthEvents.Domain.Common;
using Marten;

namespace HealthEvents.Projections.Views.Records;

public sealed class RecordQuery(ReadModelStore readModels)
{
    /// <summary>
    /// A patient's current (non-retracted) entries, of <paramref name="categories"/> only when given, ordered by
    /// recording time. Content is still ciphertext.
    /// </summary>
    public async Task<IReadOnlyList<RecordEntryDocument>> ListAsync(
        Guid patientId, IReadOnlyCollection<Category>? categories = null, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var entries = await session.Query<RecordEntryDocument>()
            .Where(x => x.PatientId == patientId && !x.Retracted)
            .ToListAsync(ct);
        // Category filtering in memory: a patient has few entries, and enums are stored as kebab-case strings.
        return entries
            .Where(x => categories is null || categories.Contains(x.Category))
            .OrderBy(x => x.RecordedAt).ThenBy(x => x.EntryId)
            .ToList();
    }
}
