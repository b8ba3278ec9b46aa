using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class RecordEntryTests
{
    private static ConsentGranted WriteGrant(Grantee grantee, params Category[] categories) =>
        Consent(grantee, categories, actions: [AccessAction.Write]);

    [Fact]
    public void Home_hospital_practitioner_adds_entries()
    {
        PatientSpec.Given(Registered).When(AddEntry(Physician)).Then(EntryAdded(Physician));
        PatientSpec.Given(Registered).When(AddEntry(Nurse)).Then(EntryAdded(Nurse));
    }

    [Fact]
    public void Admins_do_not_write_clinical_entries() =>
        PatientSpec.Given(Registered).When(AddEntry(Admin)).ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Patients_do_not_write_clinical_entries() =>
        PatientSpec.Given(Registered).When(AddEntry(Patient)).ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Other_hospital_without_a_grant_may_not_add_entries() =>
        PatientSpec.Given(Registered).When(AddEntry(OtherPhysician)).ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Write_grantee_may_add_entries() =>
        PatientSpec.Given(Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.Allergies))
            .When(AddEntry(OtherPharmacist))
            .Then(EntryAdded(OtherPharmacist));

    [Fact]
    public void Read_grant_does_not_allow_writing() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies]))
            .When(AddEntry(OtherPhysician))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Write_grant_for_another_purpose_does_not_allow_writing() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies],
                purposes: [Purpose.Research], actions: [AccessAction.Write]))
            .When(AddEntry(OtherPhysician))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Write_grant_covers_only_its_categories() =>
        PatientSpec.Given(Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.Allergies))
            .When(AddEntry(OtherPhysician, Category.Medications))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Sensitive_entries_need_a_write_grant_naming_the_category()
    {
        PatientSpec.Given(Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.ClinicalNotes, Category.Conditions))
            .When(AddEntry(OtherPhysician, Category.MentalHealth))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");
        PatientSpec.Given(Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.MentalHealth))
            .When(AddEntry(OtherPhysician, Category.MentalHealth))
            .Then(EntryAdded(OtherPhysician, Category.MentalHealth));
    }

    [Fact]
    public void Expired_write_grant_allows_no_entries() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies],
                actions: [AccessAction.Write], from: Days(-30), until: Days(-1)))
            .When(AddEntry(OtherPhysician))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Admin_of_a_write_grantee_hospital_writes_no_entries() =>
        PatientSpec.Given(Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.Allergies))
            .When(AddEntry(OtherAdmin))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");

    [Fact]
    public void Entry_ids_are_unique() =>
        PatientSpec.Given(Registered, EntryAdded(Physician)).When(AddEntry(Nurse)).ThenFails(RejectionKind.Conflict, "entry-exists");

    [Fact]
    public void Entry_needs_a_code()
    {
        PatientSpec.Given(Registered).When(AddEntry(Physician) with { Code = "" }).ThenFails(RejectionKind.Invalid, "code-required");
        PatientSpec.Given(Registered).When(AddEntry(Physician) with { CodeSystem = "" }).ThenFails(RejectionKind.Invalid, "code-required");
    }

    [Fact]
    public void Entry_needs_content() =>
        PatientSpec.Given(Registered).When(AddEntry(Physician) with { EncryptedContent = "" }).ThenFails(RejectionKind.Invalid, "content-required");

    [Fact]
    public void Authors_hospital_amends_an_entry() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", Nurse, Now))
            .Then(new RecordEntryAmended(EntryId, "enc:amended", "dose corrected", Nurse.Id, Hospitals.Home));

    [Fact]
    public void Only_authors_hospital_amends()
    {
        // Written by a grantee hospital: not even the home hospital may amend it.
        var history = new IPatientEvent[] { Registered, WriteGrant(Grantee.Hospital(Hospitals.Other), Category.Allergies), EntryAdded(OtherPhysician) };

        PatientSpec.Given(history)
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", Physician, Now))
            .ThenFails(RejectionKind.Forbidden, "not-author-hospital");
        PatientSpec.Given(history)
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", OtherAdmin, Now))
            .ThenFails(RejectionKind.Forbidden, "not-author-hospital");
        PatientSpec.Given(history)
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", OtherNurse, Now))
            .Then(new RecordEntryAmended(EntryId, "enc:amended", "dose corrected", OtherNurse.Id, Hospitals.Other));
    }

    [Fact]
    public void Amendment_needs_a_reason() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new AmendRecordEntry(EntryId, "enc:amended", "  ", Physician, Now))
            .ThenFails(RejectionKind.Invalid, "reason-required");

    [Fact]
    public void Amendment_needs_content() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new AmendRecordEntry(EntryId, "", "dose corrected", Physician, Now))
            .ThenFails(RejectionKind.Invalid, "content-required");

    [Fact]
    public void Amending_an_unknown_entry_is_not_found() =>
        PatientSpec.Given(Registered)
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", Physician, Now))
            .ThenFails(RejectionKind.NotFound, "entry-not-found");

    [Fact]
    public void Retracted_entry_cannot_be_amended() =>
        PatientSpec.Given(Registered, EntryAdded(Physician), new RecordEntryRetracted(EntryId, "wrong patient", Physician.Id, Hospitals.Home))
            .When(new AmendRecordEntry(EntryId, "enc:amended", "dose corrected", Physician, Now))
            .ThenFails(RejectionKind.Conflict, "entry-retracted");

    [Fact]
    public void Authors_hospital_retracts_an_entry() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new RetractRecordEntry(EntryId, "wrong patient", Nurse, Now))
            .Then(new RecordEntryRetracted(EntryId, "wrong patient", Nurse.Id, Hospitals.Home));

    [Fact]
    public void Only_authors_hospital_retracts() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new RetractRecordEntry(EntryId, "wrong patient", OtherPhysician, Now))
            .ThenFails(RejectionKind.Forbidden, "not-author-hospital");

    [Fact]
    public void Retraction_needs_a_reason() =>
        PatientSpec.Given(Registered, EntryAdded(Physician))
            .When(new RetractRecordEntry(EntryId, "", Physician, Now))
            .ThenFails(RejectionKind.Invalid, "reason-required");

    [Fact]
    public void Retracting_an_unknown_entry_is_not_found() =>
        PatientSpec.Given(Registered)
            .When(new RetractRecordEntry(EntryId, "wrong patient", Physician, Now))
            .ThenFails(RejectionKind.NotFound, "entry-not-found");

    [Fact]
    public void Entry_is_retracted_once() =>
        PatientSpec.Given(Registered, EntryAdded(Physician), new RecordEntryRetracted(EntryId, "wrong patient", Physician.Id, Hospitals.Home))
            .When(new RetractRecordEntry(EntryId, "wrong patient", Physician, Now))
            .ThenFails(RejectionKind.Conflict, "entry-retracted");
}

public class ImportRecordEntriesTests
{
    private static readonly Guid First = Ids.Of(31), Second = Ids.Of(32);

    [Fact]
    public void An_import_adds_one_entry_per_imported_entry_in_one_decision() =>
        PatientSpec.Given(PatientFixtures.Registered)
            .When(PatientFixtures.Import(Actors.Physician, PatientFixtures.Imported(First), PatientFixtures.Imported(Second, Category.VitalSigns)))
            .Then(PatientFixtures.EntryAdded(Actors.Physician, entryId: First), PatientFixtures.EntryAdded(Actors.Physician, Category.VitalSigns, Second));

    [Fact]
    public void Entries_already_on_the_record_or_listed_twice_are_left_out_so_sending_again_adds_nothing()
    {
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First))
            .When(PatientFixtures.Import(Actors.Physician, PatientFixtures.Imported(First), PatientFixtures.Imported(Second), PatientFixtures.Imported(Second)))
            .Then(PatientFixtures.EntryAdded(Actors.Physician, entryId: Second));
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First))
            .When(PatientFixtures.Import(Actors.Physician, PatientFixtures.Imported(First)))
            .Then();
    }

    [Fact]
    public void Each_entry_is_judged_as_an_added_entry_and_one_refusal_refuses_the_whole_import()
    {
        PatientSpec.Given(PatientFixtures.Registered)
            .When(PatientFixtures.Import(Actors.OtherPhysician, PatientFixtures.Imported(First)))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");
        // Judged before "already there": someone who may not write learns nothing of what exists.
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First))
            .When(PatientFixtures.Import(Actors.OtherPhysician, PatientFixtures.Imported(First)))
            .ThenFails(RejectionKind.Forbidden, "write-not-permitted");
        PatientSpec.Given(PatientFixtures.Registered)
            .When(PatientFixtures.Import(Actors.Physician, PatientFixtures.Imported(First),
                PatientFixtures.Imported(Second) with { EncryptedContent = " " }))
            .ThenFails(RejectionKind.Invalid, "content-required");
        PatientSpec.Given(PatientFixtures.Registered)
            .When(PatientFixtures.Import(Actors.Physician))
            .ThenFails(RejectionKind.Invalid, "import-size");
    }

    [Fact]
    public void A_correction_amends_the_entry_as_an_amendment_would_when_it_is_still_at_the_revision_compared()
    {
        var correction = new ImportedCorrection(First, 0, "enc:corrected");
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First))
            .When(PatientFixtures.Import(Actors.Nurse) with { Corrections = [correction] })
            .Then(new RecordEntryAmended(First, "enc:corrected", ImportRecordEntries.CorrectionReason, Actors.Nurse.Id, Hospitals.Home));
        // Amended since the import compared contents, or retracted: left out, for the importer to compare again.
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First),
                new RecordEntryAmended(First, "enc:other", "typo", Actors.Physician.Id, Hospitals.Home))
            .When(PatientFixtures.Import(Actors.Nurse) with { Corrections = [correction] })
            .Then();
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First),
                new RecordEntryAmended(First, "enc:other", "typo", Actors.Physician.Id, Hospitals.Home))
            .When(PatientFixtures.Import(Actors.Nurse) with { Corrections = [correction with { Revision = 1 }] })
            .Then(new RecordEntryAmended(First, "enc:corrected", ImportRecordEntries.CorrectionReason, Actors.Nurse.Id, Hospitals.Home));
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First),
                new RecordEntryRetracted(First, "wrong patient", Actors.Physician.Id, Hospitals.Home))
            .When(PatientFixtures.Import(Actors.Nurse) with { Corrections = [correction] })
            .Then();
    }

    [Fact]
    public void A_correction_is_judged_as_an_amendment()
    {
        var correction = new ImportedCorrection(First, 0, "enc:corrected");
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.OtherPhysician, entryId: First))
            .When(PatientFixtures.Import(Actors.Physician) with { Corrections = [correction] })
            .ThenFails(RejectionKind.Forbidden, "not-author-hospital");
        PatientSpec.Given(PatientFixtures.Registered)
            .When(PatientFixtures.Import(Actors.Physician) with { Corrections = [correction] })
            .ThenFails(RejectionKind.NotFound, "entry-not-found");
    }

    [Fact]
    public void An_entry_that_supersedes_another_retracts_it_in_the_same_decision_once()
    {
        var superseding = PatientFixtures.Imported(Second, Category.MentalHealth) with { Supersedes = First };
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First))
            .When(PatientFixtures.Import(Actors.Physician, superseding))
            .Then(new RecordEntryRetracted(First, ImportRecordEntries.SupersededReason, Actors.Physician.Id, Hospitals.Home),
                PatientFixtures.EntryAdded(Actors.Physician, Category.MentalHealth, Second));
        // Already superseded (a concurrent import of the same bundle landed first): nothing.
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.Physician, entryId: First),
                new RecordEntryRetracted(First, ImportRecordEntries.SupersededReason, Actors.Physician.Id, Hospitals.Home),
                PatientFixtures.EntryAdded(Actors.Physician, Category.MentalHealth, Second))
            .When(PatientFixtures.Import(Actors.Physician, superseding))
            .Then();
        // Only the author's hospital retracts.
        PatientSpec.Given(PatientFixtures.Registered, PatientFixtures.EntryAdded(Actors.OtherPhysician, entryId: First))
            .When(PatientFixtures.Import(Actors.Physician, superseding))
            .ThenFails(RejectionKind.Forbidden, "not-author-hospital");
    }

    [Fact]
    public void Surveys_are_sensitive() => Assert.True(Category.Surveys.IsSensitive());

    [Fact]
    public void The_new_categories_are_not_sensitive_and_keep_kebab_case_names()
    {
        Assert.False(Category.VitalSigns.IsSensitive());
        Assert.False(Category.Procedures.IsSensitive());
        Assert.Equal("vital-signs", KebabCase.Of(Category.VitalSigns));
        Assert.Equal("procedures", KebabCase.Of(Category.Procedures));
    }
}
