using HealthEvents.Domain.Common;

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
}
