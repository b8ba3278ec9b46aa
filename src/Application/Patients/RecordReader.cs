using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <param name="ContentType"><c>application/fhir+json</c> when <see cref="Text"/> is a FHIR resource as imported; null for a note.</param>
/// <param name="FullUrl">The imported resource's fullUrl in its bundle, if it had one.</param>
public sealed record RecordEntryView(
    Guid EntryId, Category Category, string CodeSystem, string Code, string? Display, string? Text,
    DateTimeOffset RecordedAt, string AuthorId, string AuthorHospital, bool Amended, string? ContentType = null, string? FullUrl = null);

/// <summary>Reads a patient's current entries of some categories, decrypted. Only called after an access was granted.</summary>
public interface IRecordReader
{
    Task<IReadOnlyList<RecordEntryView>> ReadEntriesAsync(Guid patientId, IReadOnlyCollection<Category> categories, CancellationToken ct);
}

/// <summary>
/// Serves entries straight from the patient's stream, so a granted access always sees every entry
/// committed before its own decision (a projection could lag behind it).
/// </summary>
public sealed class StreamRecordReader(IEventStore store, EventSerializer serializer, IPatientCipher cipher) : IRecordReader
{
    public async Task<IReadOnlyList<RecordEntryView>> ReadEntriesAsync(Guid patientId, IReadOnlyCollection<Category> categories, CancellationToken ct)
    {
        var entries = new Dictionary<Guid, (RecordEntryAdded Added, string Content, bool Amended)>();
        await foreach (var envelope in store.ReadStreamAsync(PatientStream.StreamId(patientId), 0, ct))
        {
            switch (serializer.Deserialize(envelope.Type, envelope.Data))
            {
                case RecordEntryAdded a when categories.Contains(a.Category):
                    entries[a.EntryId] = (a, a.EncryptedContent, false);
                    break;
                case RecordEntryAmended m when entries.TryGetValue(m.EntryId, out var e):
                    entries[m.EntryId] = (e.Added, m.EncryptedContent, true);
                    break;
                case RecordEntryRetracted r:
                    entries.Remove(r.EntryId);
                    break;
            }
        }

        var views = new List<RecordEntryView>(entries.Count);
        foreach (var (added, sealedContent, amended) in entries.Values)
        {
            var json = await cipher.DecryptAsync(patientId, sealedContent, ct);
            var content = json is null ? null : JsonSerializer.Deserialize<EntryContent>(json);
            // An amendment replaces the text; the code's display text stays that of the original entry.
            var display = amended ? await OriginalDisplayAsync(patientId, added, ct) : content?.Display;
            views.Add(new(added.EntryId, added.Category, added.CodeSystem, added.Code, display, content?.Text,
                added.RecordedAt, added.AuthorId, added.AuthorHospital, amended, content?.ContentType, content?.FullUrl));
        }
        return views;
    }

    private async Task<string?> OriginalDisplayAsync(Guid patientId, RecordEntryAdded added, CancellationToken ct)
    {
        var json = await cipher.DecryptAsync(patientId, added.EncryptedContent, ct);
        return json is null ? null : JsonSerializer.Deserialize<EntryContent>(json)?.Display;
    }
}
