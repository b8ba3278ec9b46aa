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
/// One entry to import; <see cref="Text"/> is sealed as the entry's note (for FHIR: the resource's exact JSON, with
/// <see cref="ContentType"/> <c>application/fhir+json</c> and its bundle's <see cref="FullUrl"/>).
/// </summary>
public sealed record ImportEntryInput(
    Guid EntryId, Category Category, CodeInput Code, [Narrative] string Text, DateTimeOffset? RecordedAt,
    string? ContentType = null, string? FullUrl = null);

/// <summary>
/// A patient's record brought in whole (a FHIR bundle): the registration when the patient is new, then the entries in
/// as few transactions as the size budget allows. Every part is judged before anything is encrypted, so a refused
/// import makes no data key and appends nothing; entries already on the record are left out, so sending it again is a no-op.
/// </summary>
public sealed record ImportPatientRecordCommand(
    Guid PatientId, ImportRegistration Registration, IReadOnlyList<ImportEntryInput> Entries, CommandContext Context)
    : IRequest<PatientRecordImported>;

public sealed record PatientRecordImported(Guid PatientId, bool Registered, int Added, int AlreadyPresent, IReadOnlyList<Receipt> Receipts);

public sealed class ImportPatientRecordHandler(PatientStream patients, PatientDirectory directory, IPatientCipher cipher, IClock clock)
    : IRequestHandler<ImportPatientRecordCommand, PatientRecordImported>
{
    /// <summary>
    /// Plaintext characters per transaction: sealed (base64, +1/3) it stays well inside one EventStoreDB append (1 MiB)
    /// and one endorsement request, which carries the command and the envelopes.
    /// </summary>
    public const int ChunkChars = 128 * 1024;

    /// <summary>Entries per transaction, whatever their size (well below what one import command may carry).</summary>
    public const int ChunkEntries = 250;

    public async ValueTask<PatientRecordImported> Handle(ImportPatientRecordCommand c, CancellationToken ct)
    {
        var at = clock.UtcNow;
        var actor = c.Context.Actor;
        var state = await directory.StateAsync(c.PatientId, ct);

        // Judged first, with placeholders: the registration (when new) and every entry against the state it would make.
        RegisterPatient Register(string demographics) => new(
            c.PatientId, c.Registration.HomeHospital, c.Registration.BirthYear, c.Registration.Sex, demographics, actor, at);
        var register = !state.Registered;
        if (register)
            state = PatientDecider.Decide(Register(PatientStream.SealPending), state).Aggregate(state, PatientDecider.Evolve);
        // Judged in the chunks it will be sent in: one import command carries at most ImportRecordEntries.MaxEntries.
        var fresh = new HashSet<Guid>();
        foreach (var chunk in Chunks(c.Entries))
        {
            var decided = PatientDecider.Decide(new ImportRecordEntries([.. chunk.Select(e => Imported(e, PatientStream.SealPending, at))], actor, at), state);
            state = decided.Aggregate(state, PatientDecider.Evolve);
            fresh.UnionWith(decided.OfType<RecordEntryAdded>().Select(e => e.EntryId));
        }

        var receipts = new List<Receipt>();
        if (register)
        {
            var registered = await patients.ExecuteSealedAsync(c.PatientId,
                t => new Demographics(c.Registration.Name).SealAsync(cipher, c.PatientId, t),
                (demographics, when) => Register(demographics) with { At = when }, Sub(c.Context, "register"), ct);
            receipts.Add(registered.Receipt);
        }

        var added = 0;
        var toAdd = c.Entries.Where(e => fresh.Remove(e.EntryId)).ToList(); // once each, in the bundle's order
        foreach (var chunk in Chunks(toAdd))
        {
            var sealedEntries = new List<ImportedEntry>(chunk.Count);
            foreach (var e in chunk)
                sealedEntries.Add(Imported(e, await cipher.EncryptAsync(c.PatientId,
                    JsonSerializer.Serialize(new EntryContent(e.Code.Display, e.Text, e.ContentType, e.FullUrl)), ct), at));
            var result = await patients.ExecuteAsync(c.PatientId,
                when => new ImportRecordEntries(sealedEntries, actor, when), Sub(c.Context, "entries/" + chunk[0].EntryId), ct);
            added += result.Events.Count;
            if (result.Events.Count > 0) receipts.Add(result.Receipt);
        }
        return new(c.PatientId, register, added, c.Entries.Count - added, receipts);
    }

    private static ImportedEntry Imported(ImportEntryInput e, string content, DateTimeOffset at) =>
        new(e.EntryId, e.Category, e.Code.System, e.Code.Code, content, (e.RecordedAt ?? at).ToUniversalTime());

    /// <summary>Each transaction its own command id, derived from the caller's, so a retried import derives the same ones.</summary>
    private static CommandContext Sub(CommandContext context, string part) =>
        context with { CommandId = DeterministicIds.CommandId("import/" + part, context.CommandId) };

    private static IEnumerable<List<ImportEntryInput>> Chunks(IReadOnlyList<ImportEntryInput> entries)
    {
        var chunk = new List<ImportEntryInput>();
        var chars = 0;
        foreach (var e in entries)
        {
            var size = e.Text.Length + (e.Code.Display?.Length ?? 0) + (e.FullUrl?.Length ?? 0);
            if (chunk.Count > 0 && (chars + size > ChunkChars || chunk.Count == ChunkEntries))
            {
                yield return chunk;
                chunk = [];
                chars = 0;
            }
            chunk.Add(e);
            chars += size;
        }
        if (chunk.Count > 0) yield return chunk;
    }
}
