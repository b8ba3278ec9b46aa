using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Records;

/// <summary>One record entry of a patient, current state. The content stays ciphertext: it is decrypted only when served.</summary>
public sealed record RecordEntryDocument
{
    /// <summary>The entry id (the document id).</summary>
    public Guid Id { get; init; }

    public Guid EntryId { get; init; }
    public Guid PatientId { get; init; }
    public Category Category { get; init; }
    public string CodeSystem { get; init; } = "";
    public string Code { get; init; } = "";

    /// <summary>The latest content (after amendments), encrypted under the patient's data key.</summary>
    public string EncryptedContent { get; init; } = "";

    public DateTimeOffset RecordedAt { get; init; }
    public string AuthorId { get; init; } = "";
    public string AuthorHospital { get; init; } = "";
    public bool Amended { get; init; }
    public DateTimeOffset? LastAmendedAt { get; init; }
    public string? LastAmendedBy { get; init; }
    public bool Retracted { get; init; }
    public DateTimeOffset? RetractedAt { get; init; }

    /// <summary>Stream version of the last event that changed this entry.</summary>
    public long StreamVersion { get; init; }

    /// <summary>An entry as <paramref name="a"/> added it, at version <paramref name="streamVersion"/> of the patient's stream.</summary>
    public static RecordEntryDocument Added(Guid patientId, RecordEntryAdded a, long streamVersion) => new()
    {
        Id = a.EntryId,
        EntryId = a.EntryId,
        PatientId = patientId,
        Category = a.Category,
        CodeSystem = a.CodeSystem,
        Code = a.Code,
        EncryptedContent = a.EncryptedContent,
        RecordedAt = a.RecordedAt,
        AuthorId = a.AuthorId,
        AuthorHospital = a.AuthorHospital,
        StreamVersion = streamVersion,
    };
}

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
