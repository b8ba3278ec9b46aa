using System.Runtime.CompilerServices;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Research;

/// <summary>
/// One declared research projection. Keeps a <see cref="ResearchSubject"/> per patient that an unrevoked research
/// consent admits, under a pseudonym, with the facts its filter and group-by need; nothing about anyone else. When a
/// first admitting consent arrives, the patient's stream up to that event is read once to collect what came before.
/// A revocation of the last admitting consent, or forgetting, deletes the subject. Rows are computed at read time
/// (<see cref="ResearchQuery"/>), so consents that expire leave the aggregate without an event.
/// </summary>
public sealed class ResearchProjection(ResearchDefinition definition, IEventStore events, EventSerializer? serializer = null)
    : IBatchPreparingProjection, IPartitionedProjection
{
    private readonly EventSerializer _serializer = serializer ?? EventSerializer.Default;
    private readonly ConditionalWeakTable<IDocumentSession, Batch> _batches = new();

    public ResearchDefinition Definition { get; } = definition;

    public string Name => Definition.ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(ResearchSubject), typeof(ResearchKey)];

    public void DeleteOwnDocuments(IDocumentSession session)
    {
        var name = Name;
        session.HardDeleteWhere<ResearchSubject>(x => x.Projection == name);
        session.HardDeleteWhere<ResearchKey>(x => x.Id == name);
    }

    /// <summary>
    /// Loads the research key and the subjects of every patient the batch touches, in two round trips; then, for each
    /// patient without a subject whose admitting consent is in the batch, reads the history up to that consent, in parallel.
    /// </summary>
    public async Task PrepareBatchAsync(IDocumentSession session, IReadOnlyList<ProjectedEvent> batch, CancellationToken ct)
    {
        var state = await BatchOfAsync(session, ct);
        var relevant = batch
            .Where(e => e.PatientId is not null && IsRelevant(e.Event))
            .Select(e => (Event: e, Id: SubjectId(state.Pseudonyms.Patient(e.PatientId!.Value))))
            .ToList();
        var ids = relevant.Select(x => x.Id).Distinct(StringComparer.Ordinal).Where(id => !state.Subjects.ContainsKey(id)).ToArray();
        if (ids.Length == 0) return;
        var found = (await session.LoadManyAsync<ResearchSubject>(ct, ids)).ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var id in ids) state.Subjects[id] = found.GetValueOrDefault(id);

        var admitted = relevant
            .Where(x => state.Subjects[x.Id] is null && x.Event.Event is ConsentGranted g && Definition.Admits(g))
            .GroupBy(x => x.Id, StringComparer.Ordinal)
            .Select(g => g.First().Event)
            .ToList();
        if (admitted.Count == 0) return;
        var histories = new (ProjectedEvent Event, List<IPatientEvent> History)[admitted.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, admitted.Count), new ParallelOptions { MaxDegreeOfParallelism = HistoryReaders, CancellationToken = ct },
            async (i, token) =>
            {
                var e = admitted[i];
                var history = new List<IPatientEvent>();
                await foreach (var past in HistoryAsync(e.StreamId, e.StreamVersion, token)) history.Add(past);
                histories[i] = (e, history);
            });
        foreach (var (e, history) in histories) state.Histories[(e.StreamId, e.StreamVersion)] = history;
    }

    /// <summary>Patient histories read at once while preparing a batch.</summary>
    private const int HistoryReaders = 4;

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (e.PatientId is not { } patientId || e.Event is not IPatientEvent pe || !IsRelevant(pe)) return;
        var state = await BatchOfAsync(session, ct);
        var id = SubjectId(state.Pseudonyms.Patient(patientId));
        if (!state.Subjects.TryGetValue(id, out var subject))
            state.Subjects[id] = subject = await session.LoadAsync<ResearchSubject>(id, ct);

        if (subject is null)
        {
            // Nothing is kept about a patient until a consent admits them; then their history so far is read once.
            if (pe is not ConsentGranted granted || !Definition.Admits(granted)) return;
            subject = new ResearchSubject { Id = id, Projection = Name };
            if (state.Histories.Remove((e.StreamId, e.StreamVersion), out var prepared))
                foreach (var past in prepared) Apply(subject, past, state.Pseudonyms);
            else
                await foreach (var past in HistoryAsync(e.StreamId, e.StreamVersion, ct)) Apply(subject, past, state.Pseudonyms);
        }
        else if (!Apply(subject, pe, state.Pseudonyms))
        {
            session.Delete<ResearchSubject>(id);
            state.Subjects[id] = null;
            return;
        }
        if (subject.Consents.Count == 0) return; // (cannot happen: the admitting grant is in the history)
        session.Store(subject);
        state.Subjects[id] = subject;
    }

    private static bool IsRelevant(IEvent e) => e is PatientRegistered or PatientDetailsCorrected or RecordEntryAdded
        or RecordEntryRetracted or ConsentGranted or ConsentNarrowed or ConsentRevoked or PatientForgotten;

    /// <summary>The stored names of the relevant types: a history read skips the others without deserialising them.</summary>
    private static readonly HashSet<string> RelevantTypes = new(
        new[] { typeof(PatientRegistered), typeof(PatientDetailsCorrected), typeof(RecordEntryAdded), typeof(RecordEntryRetracted),
                typeof(ConsentGranted), typeof(ConsentNarrowed), typeof(ConsentRevoked), typeof(PatientForgotten) }
            .Select(t => ((EventTypeAttribute)Attribute.GetCustomAttribute(t, typeof(EventTypeAttribute))!).Name),
        StringComparer.Ordinal);

    /// <summary>Applies one event to a subject; false when the subject must go (forgotten, or no admitting consent left).</summary>
    private bool Apply(ResearchSubject s, IPatientEvent e, ResearchPseudonyms pseudonyms)
    {
        switch (e)
        {
            case PatientRegistered r:
                SetDemographics(s, r.BirthYear, r.Sex);
                break;
            case PatientDetailsCorrected c:
                SetDemographics(s, c.BirthYear, c.Sex);
                break;
            case RecordEntryAdded a when Definition.Counts(a):
                var key = pseudonyms.Entry(a.EntryId);
                s.Entries.RemoveAll(x => x.Key == key);
                s.Entries.Add(new ResearchEntryFact
                {
                    Key = key,
                    Category = a.Category,
                    CodeSystem = Definition.Groups(Domain.Research.ResearchDimension.Code) ? a.CodeSystem : null,
                    Code = Definition.Groups(Domain.Research.ResearchDimension.Code) ? a.Code : null,
                    Year = Definition.Groups(Domain.Research.ResearchDimension.EntryYear) ? a.RecordedAt.UtcDateTime.Year : null,
                    Hospital = Definition.Groups(Domain.Research.ResearchDimension.Hospital) ? a.AuthorHospital : null,
                });
                break;
            case RecordEntryRetracted r:
                var retracted = pseudonyms.Entry(r.EntryId);
                s.Entries.RemoveAll(x => x.Key == retracted);
                break;
            case ConsentGranted g when Definition.Admits(g):
                s.Consents.Add(new ResearchConsentWindow
                {
                    Key = pseudonyms.Consent(g.ConsentId),
                    Categories = [.. Definition.RelevantCategories(g.Categories)],
                    ValidFrom = g.ValidFrom,
                    ValidUntil = g.ValidUntil,
                });
                break;
            case ConsentNarrowed n:
                // Fewer categories or an earlier end narrow the window; no research read left takes the consent out.
                var narrowed = pseudonyms.Consent(n.ConsentId);
                if (s.Consents.Find(x => x.Key == narrowed) is not { } window) break;
                if (!Definition.Admits(n))
                {
                    s.Consents.Remove(window);
                    if (s.Consents.Count == 0) return false;
                    break;
                }
                window.Categories = [.. Definition.RelevantCategories(n.Categories)];
                window.ValidUntil = n.ValidUntil;
                break;
            case ConsentRevoked r:
                var revoked = pseudonyms.Consent(r.ConsentId);
                if (s.Consents.RemoveAll(x => x.Key == revoked) > 0 && s.Consents.Count == 0) return false;
                break;
            case PatientForgotten:
                return false;
        }
        return true;
    }

    private void SetDemographics(ResearchSubject s, int birthYear, Sex sex)
    {
        s.BirthYear = Definition.Groups(Domain.Research.ResearchDimension.AgeBand) ? birthYear : null;
        s.Sex = Definition.Groups(Domain.Research.ResearchDimension.Sex) ? sex : null;
    }

    /// <summary>The patient's events up to and including <paramref name="upTo"/> (immutable history, so a replay reads the same).</summary>
    private async IAsyncEnumerable<IPatientEvent> HistoryAsync(string streamId, long upTo, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var envelope in events.ReadStreamAsync(streamId, 0, ct))
        {
            if (envelope.Version > upTo) yield break;
            if (RelevantTypes.Contains(envelope.Type) && Readable(envelope) is { } e) yield return e;
        }
    }

    /// <summary>The patient event, or null when it is unreadable (written past the service; the runner logs and counts it).</summary>
    private IPatientEvent? Readable(EventEnvelope envelope)
    {
        try
        {
            return _serializer.Deserialize(envelope.Type, envelope.Data) as IPatientEvent;
        }
        catch (UnreadableEventException)
        {
            return null;
        }
    }

    private string SubjectId(string pseudonym) => $"{Name}/{pseudonym}";

    /// <summary>The subject id of a patient, for the publication step inside the service (never served).</summary>
    internal static string SubjectIdOf(string projection, string pseudonym) => $"{projection}/{pseudonym}";

    private async Task<Batch> BatchOfAsync(IDocumentSession session, CancellationToken ct)
    {
        if (_batches.TryGetValue(session, out var batch)) return batch;
        var key = await session.LoadAsync<ResearchKey>(Name, ct);
        if (key is null)
        {
            key = new ResearchKey { Id = Name, Key = ResearchPseudonyms.NewKey(), CreatedAt = DateTimeOffset.UtcNow };
            session.Store(key);
        }
        batch = new Batch(new ResearchPseudonyms(key.Key));
        _batches.AddOrUpdate(session, batch);
        return batch;
    }

    /// <summary>Per batch (per session): the pseudonym function and the subjects loaded or changed so far (null: none).</summary>
    private sealed class Batch(ResearchPseudonyms pseudonyms)
    {
        public ResearchPseudonyms Pseudonyms { get; } = pseudonyms;
        public Dictionary<string, ResearchSubject?> Subjects { get; } = new(StringComparer.Ordinal);

        /// <summary>A patient's history up to an admitting consent (stream, version), read while preparing the batch.</summary>
        public Dictionary<(string Stream, long Version), List<IPatientEvent>> Histories { get; } = [];
    }
}
