using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static Times;

public static class PatientFixtures
{
    public const string Demographics = "enc:demographics";
    public static readonly Guid EntryId = Ids.Of(10);
    public static readonly Guid ConsentId = Ids.Of(20);
    public static readonly Guid AccessId = Ids.Of(30);

    public static readonly PatientRegistered Registered = new(PatientId, Hospitals.Home, 1980, Sex.Female, Demographics);

    public static RegisterPatient Register(Actor actor, string hospital = Hospitals.Home, int birthYear = 1980) =>
        new(PatientId, hospital, birthYear, Sex.Female, Demographics, actor, Now);

    public static AddRecordEntry AddEntry(Actor actor, Category category = Category.Allergies, Guid? entryId = null) =>
        new(entryId ?? EntryId, category, "http://snomed.info/sct", "91936005", "enc:penicillin", Days(-1), actor, Now);

    public static RecordEntryAdded EntryAdded(Actor author, Category category = Category.Allergies, Guid? entryId = null) =>
        new(entryId ?? EntryId, category, "http://snomed.info/sct", "91936005", "enc:penicillin", Days(-1), author.Id, author.Hospital);

    public static ConsentGranted Consent(
        Grantee grantee,
        Category[] categories,
        Purpose[]? purposes = null,
        AccessAction[]? actions = null,
        DateTimeOffset? from = null,
        DateTimeOffset? until = null,
        Guid? consentId = null,
        bool openEnded = false) =>
        new(consentId ?? ConsentId, grantee, categories, purposes ?? [Purpose.Treatment], actions ?? [AccessAction.Read],
            from ?? Days(-1), openEnded ? null : until ?? Days(30));

    public static RequestAccess Request(Actor actor, Purpose purpose, params Category[] categories) =>
        new(AccessId, purpose, categories, actor, Now);

    public static AccessGranted Granted(Actor actor, Purpose purpose, Category[] requested, Category[] released, params Guid[] consentIds) =>
        new(AccessId, actor, purpose, requested, released, consentIds);

    public static AccessDenied Denied(Actor actor, Purpose purpose, Category[] requested, string reason = DenialReasons.NoConsent) =>
        new(AccessId, actor, purpose, requested, reason);

    public static ImportedEntry Imported(Guid entryId, Category category = Category.Allergies) =>
        new(entryId, category, "http://snomed.info/sct", "91936005", "enc:penicillin", Days(-1));

    public static ImportRecordEntries Import(Actor actor, params ImportedEntry[] entries) => new(entries, actor, Now);

    /// <summary>The key the enrolment of <see cref="EveryCommand"/> enrols (made once per test run; declared first, as initialised first).</summary>
    private static readonly DeviceKeyFixture EnrolmentKey = new();

    /// <summary>One well-formed command of every kind, each by an actor who may issue it.</summary>
    public static readonly IReadOnlyDictionary<string, IPatientCommand> EveryCommand = new Dictionary<string, IPatientCommand>
    {
        ["register"] = Register(Physician),
        ["correct-details"] = new CorrectPatientDetails(1981, Sex.Female, Demographics, Physician, Now),
        ["add-entry"] = AddEntry(Physician, entryId: Ids.Of(11)),
        ["import-entries"] = Import(Physician, Imported(Ids.Of(12))),
        ["amend-entry"] = new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", Physician, Now),
        ["retract-entry"] = new RetractRecordEntry(EntryId, "wrong patient", Physician, Now),
        ["grant-consent"] = new GrantConsent(Ids.Of(21), Grantee.Hospital(Hospitals.Other), [Category.Allergies],
            [Purpose.Treatment], [AccessAction.Read], Now, Days(30), Patient, Now),
        ["revoke-consent"] = new RevokeConsent(ConsentId, Patient, Now),
        ["narrow-consent"] = new NarrowConsent(ConsentId, [Category.Allergies], null, null, Days(7), Patient, Now),
        ["request-access"] = Request(Physician, Purpose.Treatment, Category.Allergies),
        ["explain-access"] = new ExplainAccess(AccessId, Purpose.Treatment, [Category.Allergies], Physician, Now),
        ["emergency-access"] = new UseEmergencyAccess(AccessId, "unconscious on arrival", Physician, Now),
        ["link-insurance"] = new LinkInsurance("insurer", "hash", Now, Days(365), Admin, Now),
        ["import-insurance"] = new ImportInsurance("insurer", "hash", Now, Days(365), Physician, Now),
        ["end-insurance"] = new EndInsurance(Admin, Now),
        ["forget"] = new ForgetPatient(Patient, Now),
        ["enrol-device-key"] = EnrolmentKey.Enrol(Patient),
    };

    public static TheoryData<string> EveryCommandName => [.. EveryCommand.Keys];

    public static TheoryData<string> EveryCommandButRegister => [.. EveryCommand.Keys.Where(name => name != "register")];
}
