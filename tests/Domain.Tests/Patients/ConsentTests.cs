using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class ConsentTests
{
    private static GrantConsent Grant(
        Actor actor,
        Grantee? grantee = null,
        Category[]? categories = null,
        Purpose[]? purposes = null,
        AccessAction[]? actions = null,
        DateTimeOffset? from = null,
        DateTimeOffset? until = null) =>
        new(ConsentId, grantee ?? Grantee.Hospital(Hospitals.Other), categories ?? [Category.Allergies, Category.Medications],
            purposes ?? [Purpose.Treatment], actions ?? [AccessAction.Read], from ?? Now, until, actor, Now);

    [Fact]
    public void Patient_grants_consent() =>
        PatientSpec.Given(Registered)
            .When(Grant(Patient, until: Days(30)))
            .Then(new ConsentGranted(ConsentId, Grantee.Hospital(Hospitals.Other), [Category.Allergies, Category.Medications],
                [Purpose.Treatment], [AccessAction.Read], Now, Days(30)));

    [Fact]
    public void Consent_may_be_open_ended() =>
        PatientSpec.Given(Registered)
            .When(Grant(Patient, until: null))
            .Then(new ConsentGranted(ConsentId, Grantee.Hospital(Hospitals.Other), [Category.Allergies, Category.Medications],
                [Purpose.Treatment], [AccessAction.Read], Now, null));

    [Fact]
    public void Only_the_patient_grants_consent()
    {
        PatientSpec.Given(Registered).When(Grant(Physician)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(Grant(OtherPatient)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
    }

    [Fact]
    public void Only_the_home_hospital_speaks_for_the_patient()
    {
        // Another member vouching for the patient's own id: it does not represent them.
        var vouchedForByOther = Patient with { Hospital = Hospitals.Other };
        PatientSpec.Given(Registered).When(Grant(vouchedForByOther)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(new ForgetPatient(vouchedForByOther, Now)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        // Not even recorded as a denied attempt: nobody deciding this stream can tell such a "patient" from an invention.
        PatientSpec.Given(Registered).When(Request(vouchedForByOther, Purpose.Treatment, Category.Allergies))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(new UseEmergencyAccess(AccessId, "unconscious", vouchedForByOther, Now))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");
    }

    [Fact]
    public void Consent_names_at_least_one_category_purpose_and_action()
    {
        PatientSpec.Given(Registered).When(Grant(Patient, categories: [])).ThenFails(RejectionKind.Invalid, "categories-required");
        PatientSpec.Given(Registered).When(Grant(Patient, purposes: [])).ThenFails(RejectionKind.Invalid, "purposes-required");
        PatientSpec.Given(Registered).When(Grant(Patient, actions: [])).ThenFails(RejectionKind.Invalid, "actions-required");
    }

    [Theory]
    [InlineData(GranteeKind.Practitioner)]
    [InlineData(GranteeKind.Hospital)]
    [InlineData(GranteeKind.Role)]
    public void Consent_names_its_grantee(GranteeKind kind) =>
        PatientSpec.Given(Registered).When(Grant(Patient, grantee: new Grantee(kind, " "))).ThenFails(RejectionKind.Invalid, "grantee-required");

    [Theory]
    [InlineData("surgeon")]
    [InlineData("HomeCare")]
    [InlineData("patient")]
    public void Role_grantee_names_a_known_staff_or_researcher_role(string role) =>
        PatientSpec.Given(Registered).When(Grant(Patient, grantee: new Grantee(GranteeKind.Role, role)))
            .ThenFails(RejectionKind.Invalid, "grantee-role-invalid");

    [Fact]
    public void Consent_validity_must_end_after_it_starts()
    {
        PatientSpec.Given(Registered).When(Grant(Patient, from: Now, until: Now)).ThenFails(RejectionKind.Invalid, "validity-period-invalid");
        PatientSpec.Given(Registered).When(Grant(Patient, from: Now, until: Days(-1))).ThenFails(RejectionKind.Invalid, "validity-period-invalid");
    }

    [Fact]
    public void Consent_ids_are_unique() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Third), [Category.Allergies]))
            .When(Grant(Patient))
            .ThenFails(RejectionKind.Conflict, "consent-exists");

    [Fact]
    public void Patient_revokes_consent() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies]))
            .When(new RevokeConsent(ConsentId, Patient, Now))
            .Then(new ConsentRevoked(ConsentId));

    [Fact]
    public void Only_the_patient_revokes_consent() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies]))
            .When(new RevokeConsent(ConsentId, OtherPhysician, Now))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");

    [Fact]
    public void Revoking_an_unknown_consent_is_not_found() =>
        PatientSpec.Given(Registered)
            .When(new RevokeConsent(ConsentId, Patient, Now))
            .ThenFails(RejectionKind.NotFound, "consent-not-found");

    [Fact]
    public void Consent_is_revoked_once() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies]), new ConsentRevoked(ConsentId))
            .When(new RevokeConsent(ConsentId, Patient, Now))
            .ThenFails(RejectionKind.Conflict, "consent-already-revoked");
}
