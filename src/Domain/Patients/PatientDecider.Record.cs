using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record AddRecordEntry(
    Guid EntryId, Category Category, string CodeSystem, string Code, string EncryptedContent,
    DateTimeOffset RecordedAt, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record AmendRecordEntry(
    Guid EntryId, string EncryptedContent, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

public sealed record RetractRecordEntry(Guid EntryId, string Reason, Actor Actor, DateTimeOffset At) : IPatientCommand;

/// <summary>One entry of an <see cref="ImportRecordEntries"/>: what an <see cref="AddRecordEntry"/> carries, less actor and time.</summary>
/// <param name="Supersedes">
/// The entry this one replaces: the same resource sent again with another category or code, which an amendment cannot
/// change. That entry is retracted in the same transaction (unless it already is).
/// </param>
public sealed record ImportedEntry(
    Guid EntryId, Category Category, string CodeSystem, string Code, string EncryptedContent, DateTimeOffset RecordedAt,
    Guid? Supersedes = null);

/// <summary>
/// A resource sent again under the same identity with new content: its entry is amended, as a correction through
/// <see cref="AmendRecordEntry"/> would, provided it is still at <paramref name="Revision"/> (its amendment count when the
/// importer compared contents) and not retracted — otherwise it changed since, and the importer compares again.
/// </summary>
public sealed record ImportedCorrection(Guid EntryId, int Revision, string EncryptedContent);

/// <summary>
/// Many entries in one transaction (a FHIR bundle's resources): each judged by the rules of <see cref="AddRecordEntry"/>;
/// an entry whose id is already on the record is left out, so a command sent again adds nothing. Corrections amend
/// entries the same import brought before (<see cref="ImportedCorrection"/>).
/// </summary>
public sealed record ImportRecordEntries(
    IReadOnlyList<ImportedEntry> Entries, Actor Actor, DateTimeOffset At, IReadOnlyList<ImportedCorrection>? Corrections = null) : IPatientCommand
{
    public const int MaxEntries = 1000;

    /// <summary>The reason an import's correction is recorded with (the amendment's reason).</summary>
    public const string CorrectionReason = "Corrected by a FHIR import: the resource was sent again with new content.";

    /// <summary>The reason a superseded entry is retracted with.</summary>
    public const string SupersededReason = "Superseded by a FHIR import: the resource was sent again with another category or code.";
}

[EventType("record.entry-added.v1")]
public sealed record RecordEntryAdded(
    Guid EntryId,
    Category Category,
    string CodeSystem,
    string Code,
    string EncryptedContent,
    DateTimeOffset RecordedAt,
    string AuthorId,
    string AuthorHospital) : IPatientEvent;

[EventType("record.entry-amended.v1")]
public sealed record RecordEntryAmended(
    Guid EntryId, string EncryptedContent, string Reason, string AuthorId, string AuthorHospital) : IPatientEvent;

/// <summary>Entered in error: the entry stays in history but no longer counts.</summary>
[EventType("record.entry-retracted.v1")]
public sealed record RecordEntryRetracted(
    Guid EntryId, string Reason, string AuthorId, string AuthorHospital) : IPatientEvent;

public sealed partial class PatientDecider
{
    private const int EarliestBirthYear = 1900;

    private static IReadOnlyList<IPatientEvent> Register(RegisterPatient command, PatientState state)
    {
        if (!command.Actor.IsPractitioner)
            throw RejectedException.Forbidden("practitioner-required", "Only a practitioner may register a patient.");
        if (!string.Equals(command.HomeHospital, command.Actor.Hospital, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-own-hospital", "A practitioner registers patients only into their own hospital.");
        RequirePlausibleBirthYear(command.BirthYear, command.At);
        RequireDemographics(command.EncryptedDemographics);
        if (state.Registered && command.IfAbsent && state.PatientId == command.PatientId
            && string.Equals(state.HomeHospital, command.HomeHospital, StringComparison.Ordinal))
            return [];
        if (state.Registered)
            throw RejectedException.Conflict("patient-exists", "The patient is already registered.");

        return [new PatientRegistered(command.PatientId, command.HomeHospital, command.BirthYear, command.Sex, command.EncryptedDemographics)];
    }

    private static IReadOnlyList<IPatientEvent> CorrectDetails(CorrectPatientDetails command, PatientState state)
    {
        if (!IsHomeHospitalPractitioner(command.Actor, state))
            throw RejectedException.Forbidden("not-home-hospital", "Only a practitioner of the home hospital may correct patient details.");
        RequirePlausibleBirthYear(command.BirthYear, command.At);
        RequireDemographics(command.EncryptedDemographics);

        return [new PatientDetailsCorrected(command.BirthYear, command.Sex, command.EncryptedDemographics)];
    }

    private static IReadOnlyList<IPatientEvent> AddEntry(AddRecordEntry command, PatientState state)
    {
        if (!MayWrite(command.Actor, command.Category, state, command.At))
            throw RejectedException.Forbidden("write-not-permitted", "The actor may not add entries of this category to this record.");
        if (IsBlank(command.CodeSystem) || IsBlank(command.Code))
            throw RejectedException.Invalid("code-required", "An entry needs a code system and a code.");
        RequireContent(command.EncryptedContent);
        if (state.Entries.ContainsKey(command.EntryId))
            throw RejectedException.Conflict("entry-exists", "An entry with this id already exists.");

        return [new RecordEntryAdded(
            command.EntryId, command.Category, command.CodeSystem, command.Code, command.EncryptedContent,
            command.RecordedAt, command.Actor.Id, command.Actor.Hospital)];
    }

    private static IReadOnlyList<IPatientEvent> ImportEntries(ImportRecordEntries command, PatientState state)
    {
        var corrections = command.Corrections ?? [];
        if (command.Entries.Count + corrections.Count is 0 or > ImportRecordEntries.MaxEntries)
            throw RejectedException.Invalid("import-size", $"An import carries 1 to {ImportRecordEntries.MaxEntries} entries.");
        var events = new List<IPatientEvent>();
        void Apply(IReadOnlyList<IPatientEvent> decided)
        {
            foreach (var e in decided) state = Evolve(state, e);
            events.AddRange(decided);
        }
        foreach (var entry in command.Entries)
        {
            // The writer is judged first, so whether an entry exists is no answer to someone who may not write it.
            if (!MayWrite(command.Actor, entry.Category, state, command.At))
                throw RejectedException.Forbidden("write-not-permitted", "The actor may not add entries of this category to this record.");
            if (state.Entries.ContainsKey(entry.EntryId)) continue; // already imported (or listed twice): nothing new
            if (entry.Supersedes is { } old && state.Entries.TryGetValue(old, out var previous) && !previous.Retracted)
                Apply(RetractEntry(new RetractRecordEntry(old, ImportRecordEntries.SupersededReason, command.Actor, command.At), state));
            Apply(AddEntry(new AddRecordEntry(entry.EntryId, entry.Category, entry.CodeSystem, entry.Code,
                entry.EncryptedContent, entry.RecordedAt, command.Actor, command.At), state));
        }
        foreach (var correction in corrections)
        {
            if (!state.Entries.TryGetValue(correction.EntryId, out var entry))
                throw RejectedException.NotFound("entry-not-found", "The record entry does not exist.");
            // Changed since the importer compared (a concurrent import, a retraction): left for it to compare again.
            if (entry.Retracted || entry.Revision != correction.Revision) continue;
            Apply(AmendEntry(new AmendRecordEntry(correction.EntryId, correction.EncryptedContent, ImportRecordEntries.CorrectionReason,
                command.Actor, command.At), state));
        }
        return events;
    }

    private static IReadOnlyList<IPatientEvent> AmendEntry(AmendRecordEntry command, PatientState state)
    {
        var entry = ExistingEntryOfAuthorsHospital(command.EntryId, command.Actor, state);
        RequireReason(command.Reason);
        RequireContent(command.EncryptedContent);
        RequireNotRetracted(entry);

        return [new RecordEntryAmended(command.EntryId, command.EncryptedContent, command.Reason, command.Actor.Id, command.Actor.Hospital)];
    }

    private static IReadOnlyList<IPatientEvent> RetractEntry(RetractRecordEntry command, PatientState state)
    {
        var entry = ExistingEntryOfAuthorsHospital(command.EntryId, command.Actor, state);
        RequireReason(command.Reason);
        RequireNotRetracted(entry);

        return [new RecordEntryRetracted(command.EntryId, command.Reason, command.Actor.Id, command.Actor.Hospital)];
    }

    // The home hospital documents the care it gives; anyone else needs a treatment write grant.
    private static bool MayWrite(Actor actor, Category category, PatientState state, DateTimeOffset at) =>
        actor.IsClinician()
        && (string.Equals(actor.Hospital, state.HomeHospital, StringComparison.Ordinal)
            || Evaluate(state, actor, Purpose.Treatment, [category], AccessAction.Write, at).IsGranted);

    private static bool IsHomeHospitalPractitioner(Actor actor, PatientState state) =>
        actor.IsPractitioner && string.Equals(actor.Hospital, state.HomeHospital, StringComparison.Ordinal);

    private static EntryState ExistingEntryOfAuthorsHospital(Guid entryId, Actor actor, PatientState state)
    {
        if (!state.Entries.TryGetValue(entryId, out var entry))
            throw RejectedException.NotFound("entry-not-found", "The record entry does not exist.");
        if (!actor.IsClinician() || !string.Equals(actor.Hospital, entry.AuthorHospital, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-author-hospital", "Only a practitioner of the author's hospital may change an entry.");
        return entry;
    }

    private static void RequireNotRetracted(EntryState entry)
    {
        if (entry.Retracted)
            throw RejectedException.Conflict("entry-retracted", "The record entry has been retracted.");
    }

    private static void RequirePlausibleBirthYear(int birthYear, DateTimeOffset at)
    {
        if (birthYear < EarliestBirthYear || birthYear > at.UtcDateTime.Year)
            throw RejectedException.Invalid("birth-year-implausible", "The birth year is not plausible.");
    }

    private static void RequireDemographics(string encryptedDemographics)
    {
        if (IsBlank(encryptedDemographics))
            throw RejectedException.Invalid("demographics-required", "Demographics are required.");
    }

    private static void RequireContent(string encryptedContent)
    {
        if (IsBlank(encryptedContent))
            throw RejectedException.Invalid("content-required", "Entry content is required.");
    }

    private static void RequireReason(string reason)
    {
        if (IsBlank(reason))
            throw RejectedException.Invalid("reason-required", "A reason is required.");
    }
}
