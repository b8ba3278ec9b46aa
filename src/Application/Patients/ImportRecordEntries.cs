using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

/// <summary>A patient's registration as an import brings it (used only when the patient is not registered yet).</summary>
public sealed record ImportRegistration(string HomeHospital, int BirthYear, Sex Sex, string Name);

/// <summary>
/// One resource to import. <see cref="EntryId"/> names the resource's identity (derived by the caller from what stays
/// stable when a record is exported again): the first entry that holds it, and the start of the ids of the entries that
/// replace it (<see cref="ImportPatientRecordHandler.Successor"/>). <see cref="Text"/> is sealed as the entry's note (for
/// FHIR: the resource's exact JSON, with <see cref="ContentType"/> <c>application/fhir+json</c> and its bundle's
/// <see cref="FullUrl"/>).
/// </summary>
public sealed record ImportEntryInput(
    Guid EntryId, Category Category, CodeInput Code, [Narrative] string Text, DateTimeOffset? RecordedAt,
    string? ContentType = null, string? FullUrl = null);

/// <summary>
/// The insurance a record names (a FHIR Coverage): linked as <c>PUT /patients/{id}/insurance</c> would link it;
/// <see cref="ValidFrom"/> null when the record gives no start (see <see cref="ImportInsurance"/>).
/// </summary>
public sealed record ImportInsuranceInput([Narrative] string Insurer, [Narrative] string PolicyReference, DateTimeOffset? ValidFrom, DateTimeOffset ValidUntil);

/// <summary>
/// A patient's record brought in whole (a FHIR bundle): the registration when the patient is new, the entries in as few
/// transactions as the size budget allows, then the insurance. Every part is judged before anything is encrypted, so a
/// refused import makes no data key and appends nothing. A resource already on the record with the same content is left
/// as it is (sending again is a no-op); with new content it corrects its entry (an amendment); with another category,
/// code or clinical time it replaces it (the old entry retracted, a new one added), since an amendment changes content only.
/// </summary>
public sealed record ImportPatientRecordCommand(
    Guid PatientId, ImportRegistration Registration, IReadOnlyList<ImportEntryInput> Entries, CommandContext Context,
    ImportInsuranceInput? Insurance = null)
    : IRequest<PatientRecordImported>;

/// <summary>What became of one imported resource.</summary>
public enum EntryImport { Added, AlreadyPresent, Corrected, Replaced, KeptRetracted }

/// <summary>One resource's outcome: the entry that holds it now.</summary>
public sealed record ImportedEntryOutcome(Guid EntryId, EntryImport Outcome);

/// <summary>The outcome of an import: <see cref="Entries"/> in the order of the command's; <see cref="InsuranceLinked"/> null when none was sent.</summary>
public sealed record PatientRecordImported(
    Guid PatientId, bool Registered, IReadOnlyList<ImportedEntryOutcome> Entries, bool? InsuranceLinked, IReadOnlyList<Receipt> Receipts)
{
    public int Count(EntryImport outcome) => Entries.Count(e => e.Outcome == outcome);
}

public sealed class ImportPatientRecordHandler(
    PatientStream patients, PatientDirectory directory, RecordContents contents, IPatientCipher cipher, IClock clock)
    : IRequestHandler<ImportPatientRecordCommand, PatientRecordImported>
{
    /// <summary>
    /// Plaintext characters per transaction: sealed (base64, +1/3) it stays well inside one EventStoreDB append (1 MiB)
    /// and one endorsement request, which carries the command and the envelopes.
    /// </summary>
    public const int ChunkChars = 128 * 1024;

    /// <summary>Entries per transaction, whatever their size (well below what one import command may carry).</summary>
    public const int ChunkEntries = 250;

    /// <summary>
    /// Times the changes are planned again when a concurrent writer changed an entry between comparing and deciding
    /// (another import of the same patient); then the import gives up with a conflict.
    /// </summary>
    public const int MaxRounds = 4;

    /// <summary>The id of the <paramref name="n"/>th entry replacing the one an identity started with (n ≥ 1).</summary>
    public static Guid Successor(Guid first, int n) => DeterministicIds.Named($"import-successor|{first}|{n}");

    /// <summary>A planned change: the resource (its index in the command) and what to send for it.</summary>
    private sealed record Change(int Index, Guid EntryId, EntryImport Outcome, Guid? Supersedes = null, int Revision = 0)
    {
        public bool IsCorrection => Outcome == EntryImport.Corrected;
    }

    public async ValueTask<PatientRecordImported> Handle(ImportPatientRecordCommand c, CancellationToken ct)
    {
        var at = clock.UtcNow;
        var actor = c.Context.Actor;
        var state = await directory.StateAsync(c.PatientId, ct);
        var outcomes = new ImportedEntryOutcome?[c.Entries.Count];
        var sealedTexts = c.Entries.Select(e => JsonSerializer.Serialize(new EntryContent(e.Code.Display, e.Text, e.ContentType, e.FullUrl))).ToList();
        var changes = await PlanAsync(c, Enumerable.Range(0, c.Entries.Count), state, sealedTexts, outcomes, ct);

        // Judged first, with placeholders: the registration (when new), every change and the insurance, against the
        // state each would make — so a refusal makes no data key and stores nothing.
        RegisterPatient Register(string demographics) => new(
            c.PatientId, c.Registration.HomeHospital, c.Registration.BirthYear, c.Registration.Sex, demographics, actor, at, IfAbsent: true);
        var judged = state;
        judged = PatientDecider.Decide(Register(PatientStream.SealPending), judged).Aggregate(judged, PatientDecider.Evolve);
        foreach (var chunk in Chunks(changes, c))
            judged = PatientDecider.Decide(Command(chunk, c, _ => PatientStream.SealPending, actor, at), judged).Aggregate(judged, PatientDecider.Evolve);
        if (c.Insurance is { } insurance) PatientDecider.Decide(Insurance(insurance, c.PatientId, actor, at), judged);

        var receipts = new List<Receipt>();
        var registered = false;
        if (!state.Registered)
        {
            var registration = await patients.ExecuteSealedAsync(c.PatientId,
                t => new Demographics(c.Registration.Name).SealAsync(cipher, c.PatientId, t),
                (demographics, when) => Register(demographics) with { At = when }, Sub(c.Context, "register"), ct);
            registered = registration.Events.Count > 0;
            if (registered) receipts.Add(registration.Receipt);
        }

        for (var round = 1; changes.Count > 0; round++)
        {
            var landed = new HashSet<Guid>();
            foreach (var chunk in Chunks(changes, c))
            {
                var sealedContent = new Dictionary<int, string>();
                foreach (var change in chunk)
                    sealedContent[change.Index] = await cipher.EncryptAsync(c.PatientId, sealedTexts[change.Index], ct);
                var result = await patients.ExecuteAsync(c.PatientId, when => Command(chunk, c, i => sealedContent[i], actor, when),
                    Sub(c.Context, $"entries/{round}/{chunk[0].EntryId}"), ct);
                foreach (var e in result.Events)
                    if (e is RecordEntryAdded added) landed.Add(added.EntryId);
                    else if (e is RecordEntryAmended amended) landed.Add(amended.EntryId);
                if (result.Events.Count > 0) receipts.Add(result.Receipt);
            }
            foreach (var change in changes.Where(x => landed.Contains(x.EntryId)))
                outcomes[change.Index] = new(change.EntryId, change.Outcome);
            // What did not land was changed by someone else between planning and deciding: planned again on the new state.
            var stale = changes.Where(x => !landed.Contains(x.EntryId)).Select(x => x.Index).ToList();
            if (stale.Count == 0) break;
            if (round == MaxRounds) throw new ConcurrencyConflictException(PatientStream.StreamId(c.PatientId), MaxRounds, new InvalidOperationException("Entries kept changing."));
            changes = await PlanAsync(c, stale, await directory.StateAsync(c.PatientId, ct), sealedTexts, outcomes, ct);
        }

        bool? linked = null;
        if (c.Insurance is { } coverage)
        {
            var result = await patients.ExecuteAsync(c.PatientId, when => Insurance(coverage, c.PatientId, actor, when), Sub(c.Context, "insurance"), ct);
            linked = result.Events.Count > 0;
            if (linked.Value) receipts.Add(result.Receipt);
        }
        return new(c.PatientId, registered, [.. outcomes.Select(o => o!)], linked, receipts);
    }

    /// <summary>
    /// What each resource needs, against the record as its stream holds it: nothing (its entry holds the same), an
    /// amendment (same category, code and time; new content), or a new entry replacing the current one. Resources that
    /// need nothing get their outcome here; the changes are returned.
    /// </summary>
    private async Task<List<Change>> PlanAsync(
        ImportPatientRecordCommand c, IEnumerable<int> indexes, PatientState state, IReadOnlyList<string> sealedTexts,
        ImportedEntryOutcome?[] outcomes, CancellationToken ct)
    {
        var wanted = indexes.ToList();
        var known = wanted.Any(i => state.Entries.ContainsKey(c.Entries[i].EntryId))
            ? await contents.ReadAsync(c.PatientId, ct)
            : new Dictionary<Guid, CurrentEntry>();
        var changes = new List<Change>();
        var planned = new HashSet<Guid>();
        foreach (var i in wanted)
        {
            var e = c.Entries[i];
            if (!known.ContainsKey(e.EntryId))
            {
                // Listed twice in one import (the caller refuses that for bundles): once.
                if (planned.Add(e.EntryId)) changes.Add(new(i, e.EntryId, EntryImport.Added));
                else outcomes[i] = new(e.EntryId, EntryImport.AlreadyPresent);
                continue;
            }
            var (headId, n) = (e.EntryId, 0);
            while (known.ContainsKey(Successor(e.EntryId, n + 1))) headId = Successor(e.EntryId, ++n);
            var head = known[headId];
            var sameEntry = head.Category == e.Category && head.CodeSystem == e.Code.System && head.Code == e.Code.Code
                            && (e.RecordedAt is not { } when || head.RecordedAt == when.ToUniversalTime());
            var sameContent = sameEntry && await cipher.DecryptAsync(c.PatientId, head.EncryptedContent, ct) == sealedTexts[i];
            if (sameContent)
                outcomes[i] = new(headId, head.Retracted ? EntryImport.KeptRetracted : EntryImport.AlreadyPresent);
            else if (sameEntry && !head.Retracted)
                changes.Add(new(i, headId, EntryImport.Corrected, Revision: head.Revision));
            else
                changes.Add(new(i, Successor(e.EntryId, n + 1), EntryImport.Replaced, Supersedes: headId));
        }
        return changes;
    }

    private static ImportRecordEntries Command(
        IReadOnlyList<Change> chunk, ImportPatientRecordCommand c, Func<int, string> content, Actor actor, DateTimeOffset at)
    {
        ImportedEntry Entry(Change x, ImportEntryInput e) =>
            new(x.EntryId, e.Category, e.Code.System, e.Code.Code, content(x.Index), (e.RecordedAt ?? at).ToUniversalTime(), x.Supersedes);
        var entries = chunk.Where(x => !x.IsCorrection).Select(x => Entry(x, c.Entries[x.Index])).ToList();
        var corrections = chunk.Where(x => x.IsCorrection).Select(x => new ImportedCorrection(x.EntryId, x.Revision, content(x.Index))).ToList();
        return new ImportRecordEntries(entries, actor, at, corrections.Count > 0 ? corrections : null);
    }

    private static ImportInsurance Insurance(ImportInsuranceInput insurance, Guid patientId, Actor actor, DateTimeOffset at) =>
        new(insurance.Insurer, LinkInsuranceHandler.PolicyReferenceHash(patientId, insurance.PolicyReference),
            insurance.ValidFrom?.ToUniversalTime(), insurance.ValidUntil.ToUniversalTime(), actor, at);

    /// <summary>Each transaction its own command id, derived from the caller's, so a retried import derives the same ones.</summary>
    private static CommandContext Sub(CommandContext context, string part) =>
        context with { CommandId = DeterministicIds.CommandId("import/" + part, context.CommandId) };

    private static IEnumerable<List<Change>> Chunks(IReadOnlyList<Change> changes, ImportPatientRecordCommand c)
    {
        var chunk = new List<Change>();
        var chars = 0;
        foreach (var change in changes)
        {
            var e = c.Entries[change.Index];
            var size = e.Text.Length + (e.Code.Display?.Length ?? 0) + (e.FullUrl?.Length ?? 0);
            if (chunk.Count > 0 && (chars + size > ChunkChars || chunk.Count == ChunkEntries))
            {
                yield return chunk;
                chunk = [];
                chars = 0;
            }
            chunk.Add(change);
            chars += size;
        }
        if (chunk.Count > 0) yield return chunk;
    }
}
