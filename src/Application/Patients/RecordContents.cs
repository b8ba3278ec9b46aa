using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>One entry as its events left it: what it was added with, its latest sealed content, how often it was amended.</summary>
public sealed record CurrentEntry(
    Category Category, string CodeSystem, string Code, DateTimeOffset RecordedAt, string EncryptedContent, int Revision, bool Retracted);

/// <summary>
/// The entries of a patient's record read from their stream, for an import that must compare what it brings with what is
/// there. The decision state keeps no content (it stays small), and the read views lag behind the stream, so this reads
/// the stream itself; <see cref="CurrentEntry.Revision"/> counts the amendments it saw, which is what an
/// <see cref="ImportedCorrection"/> names so that the decider can tell whether the entry changed since.
/// </summary>
public sealed class RecordContents(IEventStore store, EventSerializer serializer)
{
    public async Task<IReadOnlyDictionary<Guid, CurrentEntry>> ReadAsync(Guid patientId, CancellationToken ct)
    {
        var entries = new Dictionary<Guid, CurrentEntry>();
        await foreach (var envelope in store.ReadStreamAsync(PatientStream.StreamId(patientId), 0, ct))
        {
            switch (serializer.Deserialize(envelope.Type, envelope.Data))
            {
                case RecordEntryAdded e:
                    entries[e.EntryId] = new(e.Category, e.CodeSystem, e.Code, e.RecordedAt, e.EncryptedContent, 0, false);
                    break;
                case RecordEntryAmended e when entries.TryGetValue(e.EntryId, out var entry):
                    entries[e.EntryId] = entry with { EncryptedContent = e.EncryptedContent, Revision = entry.Revision + 1 };
                    break;
                case RecordEntryRetracted e when entries.TryGetValue(e.EntryId, out var entry):
                    entries[e.EntryId] = entry with { Retracted = true };
                    break;
            }
        }
        return entries;
    }
}
