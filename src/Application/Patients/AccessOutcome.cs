using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>
/// The answer to an access request. Granted or denied, the decision is already on the record;
/// entries are those of the released categories only, decrypted for this response.
/// </summary>
public sealed record AccessOutcome(
    Guid AccessId,
    bool Granted,
    bool Emergency,
    IReadOnlyList<Category> CategoriesReleased,
    string? Reason,
    IReadOnlyList<RecordEntryView> Entries,
    Receipt Receipt);

/// <param name="ContentType"><c>application/fhir+json</c> when <see cref="Text"/> is a FHIR resource as imported; null for a note.</param>
/// <param name="FullUrl">The imported resource's fullUrl in its bundle, if it had one.</param>
public sealed record RecordEntryView(
    Guid EntryId, Category Category, string CodeSystem, string Code, string? Display, string? Text,
    DateTimeOffset RecordedAt, string AuthorId, string AuthorHospital, bool Amended, string? ContentType = null, string? FullUrl = null);

/// <summary>
/// The one step after an access is decided: its outcome, with the entries it released read straight from the patient's
/// stream and decrypted — so a granted access always sees every entry committed before its own decision (a projection
/// could lag behind it). Denials release nothing and read nothing.
/// </summary>
public sealed class AccessOutcomes(IEventStore store, EventSerializer serializer, IPatientCipher cipher)
{
    public async Task<AccessOutcome> FromAsync(Guid patientId, CommandResult<IPatientEvent> result, CancellationToken ct)
    {
        switch (result.Events.Single())
        {
            case AccessGranted g:
                return new(g.AccessId, true, false, g.CategoriesReleased, null,
                    await ReleasedEntriesAsync(patientId, g.CategoriesReleased, ct), result.Receipt);
            case EmergencyAccessUsed e:
                return new(e.AccessId, true, true, e.CategoriesReleased, e.Reason,
                    await ReleasedEntriesAsync(patientId, e.CategoriesReleased, ct), result.Receipt);
            case AccessDenied d:
                return new(d.AccessId, false, false, [], d.Reason, [], result.Receipt);
            default:
                throw new InvalidOperationException("An access decision produced an unexpected event.");
        }
    }

    private async Task<IReadOnlyList<RecordEntryView>> ReleasedEntriesAsync(Guid patientId, IReadOnlyCollection<Category> categories, CancellationToken ct)
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
