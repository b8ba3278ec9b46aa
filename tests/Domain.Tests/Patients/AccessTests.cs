using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class AccessTests
{
    private const Purpose Treatment = Purpose.Treatment;
    private const Category Allergies = Category.Allergies;
    private const Category Medications = Category.Medications;
    private const Category LabResults = Category.LabResults;

    [Fact]
    public void Patient_reads_own_record_without_consent() =>
        PatientSpec.Given(Registered)
            .When(Request(Patient, Treatment, Category.Genetics, Allergies))
            .Then(Granted(Patient, Treatment, [Category.Genetics, Allergies], [Category.Genetics, Allergies]));

    [Fact]
    public void Patient_does_not_read_another_patients_record() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Home), [Allergies]))
            .When(Request(OtherPatient, Treatment, Allergies))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");

    [Fact]
    public void Anything_not_granted_is_denied() =>
        PatientSpec.Given(Registered)
            .When(Request(Physician, Treatment, Allergies))
            .Then(Denied(Physician, Treatment, [Allergies]));

    [Fact]
    public void Denied_request_is_recorded() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies]))
            .When(Request(ThirdPhysician, Treatment, Allergies, Medications))
            .Then(new AccessDenied(AccessId, ThirdPhysician, Treatment, [Allergies, Medications], "no active consent covers the request"));

    [Fact]
    public void Release_is_the_intersection_of_request_and_consent_in_request_order() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies, Medications, Category.Imaging]))
            .When(Request(OtherNurse, Treatment, LabResults, Medications, Allergies))
            .Then(Granted(OtherNurse, Treatment, [LabResults, Medications, Allergies], [Medications, Allergies], ConsentId));

    [Fact]
    public void Consents_combine_and_are_cited_in_sorted_order()
    {
        // Scattered ids, so the state's hash order differs from the sorted order.
        Guid[] ids =
        [
            new("0b7e1a52-5c1d-4f0e-9a43-1f2d3c4b5a69"),
            new("3f9c2d11-8e7b-4a6c-b5d4-e3f2a1b0c9d8"),
            new("7a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"),
            new("c4d5e6f7-0819-4a2b-bc3d-4e5f60718293"),
            new("f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"),
        ];
        Category[] granted = [Allergies, Medications, LabResults, Category.Imaging, Category.Vaccinations];
        var history = new List<IPatientEvent> { Registered };
        for (var i = ids.Length - 1; i >= 0; i--)
            history.Add(Consent(Grantee.Hospital(Hospitals.Other), [granted[i]], consentId: ids[i]));
        history.Add(Consent(Grantee.Practitioner(OtherNurse.Id), [Category.Conditions], consentId: Ids.Of(99)));

        PatientSpec.Given([.. history])
            .When(Request(OtherNurse, Treatment, Category.Vaccinations, Allergies, LabResults, Medications, Category.Imaging, Category.Genetics))
            .Then(Granted(OtherNurse, Treatment,
                [Category.Vaccinations, Allergies, LabResults, Medications, Category.Imaging, Category.Genetics],
                [Category.Vaccinations, Allergies, LabResults, Medications, Category.Imaging],
                ids));
    }

    [Fact]
    public void Consents_that_release_nothing_requested_are_not_cited()
    {
        var first = Ids.Of(21);
        var unused = Ids.Of(23);

        PatientSpec.Given(
                Registered,
                Consent(Grantee.Practitioner(OtherNurse.Id), [Allergies], consentId: first),
                Consent(Grantee.Hospital(Hospitals.Other), [Category.Imaging], consentId: unused))
            .When(Request(OtherNurse, Treatment, Allergies, LabResults))
            .Then(Granted(OtherNurse, Treatment, [Allergies, LabResults], [Allergies], first));
    }

    [Fact]
    public void Practitioner_grantee_matches_that_practitioner_only()
    {
        var consent = Consent(Grantee.Practitioner(OtherNurse.Id), [Allergies]);

        PatientSpec.Given(Registered, consent).When(Request(OtherNurse, Treatment, Allergies))
            .Then(Granted(OtherNurse, Treatment, [Allergies], [Allergies], ConsentId));
        PatientSpec.Given(Registered, consent).When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));
    }

    [Fact]
    public void Hospital_grantee_matches_its_practitioners_only()
    {
        var consent = Consent(Grantee.Hospital(Hospitals.Other), [Allergies]);

        PatientSpec.Given(Registered, consent).When(Request(OtherPharmacist, Treatment, Allergies))
            .Then(Granted(OtherPharmacist, Treatment, [Allergies], [Allergies], ConsentId));
        PatientSpec.Given(Registered, consent).When(Request(ThirdPhysician, Treatment, Allergies))
            .Then(Denied(ThirdPhysician, Treatment, [Allergies]));
    }

    [Fact]
    public void Role_grantee_matches_home_care_nurse()
    {
        var consent = Consent(Grantee.OfRole(Role.HomeCare), [Medications]);
        Assert.Equal("home-care", consent.Grantee.Id);

        PatientSpec.Given(Registered, consent).When(Request(HomeCareNurse, Treatment, Medications))
            .Then(Granted(HomeCareNurse, Treatment, [Medications], [Medications], ConsentId));
    }

    [Fact]
    public void Role_grantee_does_not_match_other_roles() =>
        PatientSpec.Given(Registered, Consent(new Grantee(GranteeKind.Role, "home-care"), [Medications]))
            .When(Request(OtherNurse, Treatment, Medications))
            .Then(Denied(OtherNurse, Treatment, [Medications]));

    [Fact]
    public void Consent_for_another_purpose_allows_nothing() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], purposes: [Purpose.Insurance]))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Consent_allows_each_purpose_it_names() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], purposes: [Purpose.Treatment, Purpose.Insurance]))
            .When(Request(OtherAdmin, Purpose.Insurance, Allergies))
            .Then(Granted(OtherAdmin, Purpose.Insurance, [Allergies], [Allergies], ConsentId));

    [Fact]
    public void Write_only_consent_does_not_allow_reading() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], actions: [AccessAction.Write]))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Expired_consent_allows_nothing() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], from: Days(-30), until: Days(-1)))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Consent_ends_at_its_valid_until() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], from: Days(-30), until: Now))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Consent_starting_in_the_future_allows_nothing_yet() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], from: Days(1), until: Days(30)))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Consent_applies_from_its_valid_from() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], from: Now, until: Days(30)))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Granted(OtherPhysician, Treatment, [Allergies], [Allergies], ConsentId));

    [Fact]
    public void Open_ended_consent_stays_active() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies], from: Days(-3650), openEnded: true))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Granted(OtherPhysician, Treatment, [Allergies], [Allergies], ConsentId));

    [Fact]
    public void Revoked_consent_allows_nothing() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies]), new ConsentRevoked(ConsentId))
            .When(Request(OtherPhysician, Treatment, Allergies))
            .Then(Denied(OtherPhysician, Treatment, [Allergies]));

    [Fact]
    public void Sensitive_categories_are_released_only_by_a_consent_naming_them()
    {
        var general = Consent(Grantee.Hospital(Hospitals.Other), [.. Categories.All.Where(c => !c.IsSensitive())]);
        var naming = Consent(Grantee.Hospital(Hospitals.Other), [Category.MentalHealth], consentId: Ids.Of(29));

        PatientSpec.Given(Registered, general)
            .When(Request(OtherPhysician, Treatment, Category.MentalHealth, Category.SexualHealth, Category.Genetics))
            .Then(Denied(OtherPhysician, Treatment, [Category.MentalHealth, Category.SexualHealth, Category.Genetics]));
        PatientSpec.Given(Registered, general, naming)
            .When(Request(OtherPhysician, Treatment, Allergies, Category.MentalHealth, Category.Genetics))
            .Then(Granted(OtherPhysician, Treatment, [Allergies, Category.MentalHealth, Category.Genetics],
                [Allergies, Category.MentalHealth], ConsentId, Ids.Of(29)));
    }

    [Fact]
    public void Researchers_receive_aggregates_only() =>
        PatientSpec.Given(Registered, Consent(Grantee.OfRole(Role.Researcher), [Allergies], purposes: [Purpose.Research]))
            .When(Request(Researcher, Purpose.Research, Allergies))
            .Then(Denied(Researcher, Purpose.Research, [Allergies], "researchers receive aggregates only"));

    [Fact]
    public void Access_request_names_categories() =>
        PatientSpec.Given(Registered).When(Request(Physician, Treatment)).ThenFails(RejectionKind.Invalid, "categories-required");

    [Fact]
    public void Patients_own_access_covers_reading_only()
    {
        var state = PatientSpec.Fold(Registered);

        Assert.Empty(PatientDecider.Evaluate(state, Patient, Treatment, [Allergies], AccessAction.Write, Now).Released);
    }

    [Fact]
    public void Evaluate_reports_released_categories_and_consents_used()
    {
        var state = PatientSpec.Fold(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies, Medications]));

        var evaluation = PatientDecider.Evaluate(state, OtherNurse, Treatment, [LabResults, Allergies], AccessAction.Read, Now);

        Assert.Equal([Allergies], evaluation.Released);
        Assert.Equal([ConsentId], evaluation.ConsentIds);
        Assert.Null(evaluation.DenialReason);
    }
}
