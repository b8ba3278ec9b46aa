using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

/// <summary>Narrowing a consent: fewer categories, purposes or actions, or an earlier end — never wider, never the same.</summary>
public class NarrowingTests
{
    private static readonly Grantee Other = Grantee.Hospital(Hospitals.Other);

    /// <summary>Riverside-like: allergies, medications and imaging, for treatment and research, read and write, for 30 days.</summary>
    private static readonly ConsentGranted Broad = Consent(Other, [Category.Allergies, Category.Medications, Category.Imaging],
        [Purpose.Treatment, Purpose.Research], [AccessAction.Read, AccessAction.Write], from: Days(-1), until: Days(30));

    private static NarrowConsent Narrow(
        Category[]? categories = null, Purpose[]? purposes = null, AccessAction[]? actions = null, DateTimeOffset? until = null,
        Actor? actor = null) =>
        new(ConsentId, categories, purposes, actions, until, actor ?? Patient, Now);

    [Fact]
    public void The_patient_keeps_fewer_categories_in_the_consents_own_order() =>
        PatientSpec.Given(Registered, Broad)
            .When(Narrow(categories: [Category.Imaging, Category.Allergies]))
            .Then(new ConsentNarrowed(ConsentId, Other, [Category.Allergies, Category.Imaging],
                [Purpose.Treatment, Purpose.Research], [AccessAction.Read, AccessAction.Write], Days(30)));

    [Fact]
    public void The_patient_keeps_fewer_purposes_and_actions_and_ends_it_earlier() =>
        PatientSpec.Given(Registered, Broad)
            .When(Narrow(purposes: [Purpose.Treatment], actions: [AccessAction.Read], until: Days(7)))
            .Then(new ConsentNarrowed(ConsentId, Other, [Category.Allergies, Category.Medications, Category.Imaging],
                [Purpose.Treatment], [AccessAction.Read], Days(7)));

    [Fact]
    public void An_open_ended_consent_may_be_given_an_end() =>
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies], openEnded: true))
            .When(Narrow(until: Days(10)))
            .Then(new ConsentNarrowed(ConsentId, Other, [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Days(10)));

    [Fact]
    public void A_consent_may_be_narrowed_again() =>
        PatientSpec.Given(Registered, Broad, new ConsentNarrowed(ConsentId, Other, [Category.Allergies, Category.Medications],
                [Purpose.Treatment], [AccessAction.Read], Days(30)))
            .When(Narrow(categories: [Category.Medications]))
            .Then(new ConsentNarrowed(ConsentId, Other, [Category.Medications], [Purpose.Treatment], [AccessAction.Read], Days(30)));

    [Fact]
    public void A_consent_that_has_not_started_may_be_narrowed() =>
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies, Category.Medications], from: Days(5), until: Days(30)))
            .When(Narrow(categories: [Category.Allergies], until: Days(6)))
            .Then(new ConsentNarrowed(ConsentId, Other, [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Days(6)));

    [Fact]
    public void Anything_wider_is_refused()
    {
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [Category.Allergies, Category.Genetics]))
            .ThenFails(RejectionKind.Invalid, "narrowing-widens");
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies]))
            .When(Narrow(purposes: [Purpose.Treatment, Purpose.Insurance])).ThenFails(RejectionKind.Invalid, "narrowing-widens");
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies]))
            .When(Narrow(actions: [AccessAction.Write])).ThenFails(RejectionKind.Invalid, "narrowing-widens");
        PatientSpec.Given(Registered, Broad).When(Narrow(until: Days(31))).ThenFails(RejectionKind.Invalid, "narrowing-widens");
    }

    [Fact]
    public void Nothing_narrower_is_refused()
    {
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [Category.Medications, Category.Imaging, Category.Allergies]))
            .ThenFails(RejectionKind.Invalid, "narrowing-unchanged");
        PatientSpec.Given(Registered, Broad).When(Narrow(until: Days(30))).ThenFails(RejectionKind.Invalid, "narrowing-unchanged");
        PatientSpec.Given(Registered, Broad).When(Narrow()).ThenFails(RejectionKind.Invalid, "narrowing-unchanged");
    }

    [Fact]
    public void Keeping_nothing_is_a_revocation_not_a_narrowing()
    {
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [])).ThenFails(RejectionKind.Invalid, "categories-required");
        PatientSpec.Given(Registered, Broad).When(Narrow(purposes: [])).ThenFails(RejectionKind.Invalid, "purposes-required");
        PatientSpec.Given(Registered, Broad).When(Narrow(actions: [])).ThenFails(RejectionKind.Invalid, "actions-required");
        PatientSpec.Given(Registered, Broad).When(Narrow(until: Now)).ThenFails(RejectionKind.Invalid, "validity-end-past");
    }

    [Fact]
    public void The_end_stays_after_the_start() =>
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies], from: Days(5), until: Days(30)))
            .When(Narrow(until: Days(5)))
            .ThenFails(RejectionKind.Invalid, "validity-period-invalid");

    [Fact]
    public void Only_the_patient_narrows()
    {
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [Category.Allergies], actor: Physician))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [Category.Allergies], actor: OtherPhysician))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered, Broad).When(Narrow(categories: [Category.Allergies], actor: Patient with { Hospital = Hospitals.Other }))
            .ThenFails(RejectionKind.Forbidden, "not-the-patient");
    }

    [Fact]
    public void Only_a_consent_in_force_or_to_come_is_narrowed()
    {
        PatientSpec.Given(Registered).When(Narrow(categories: [Category.Allergies])).ThenFails(RejectionKind.NotFound, "consent-not-found");
        PatientSpec.Given(Registered, Broad, new ConsentRevoked(ConsentId)).When(Narrow(categories: [Category.Allergies]))
            .ThenFails(RejectionKind.Conflict, "consent-revoked");
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies, Category.Medications], from: Days(-10), until: Now))
            .When(Narrow(categories: [Category.Allergies])).ThenFails(RejectionKind.Conflict, "consent-ended");
    }

    [Fact]
    public void Access_is_decided_by_the_narrowed_consent()
    {
        var narrowed = new ConsentNarrowed(ConsentId, Other, [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Days(30));
        PatientSpec.Given(Registered, Broad, narrowed)
            .When(Request(OtherPhysician, Purpose.Treatment, Category.Allergies, Category.Medications))
            .Then(Granted(OtherPhysician, Purpose.Treatment, [Category.Allergies, Category.Medications], [Category.Allergies], ConsentId));
        PatientSpec.Given(Registered, Broad, narrowed)
            .When(Request(OtherPhysician, Purpose.Research, Category.Allergies))
            .Then(Denied(OtherPhysician, Purpose.Research, [Category.Allergies]));
    }

    [Fact]
    public void An_earlier_end_ends_access_then()
    {
        var narrowed = new ConsentNarrowed(ConsentId, Other, [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Days(2));
        PatientSpec.Given(Registered, Consent(Other, [Category.Allergies], until: Days(30)), narrowed)
            .When(new RequestAccess(AccessId, Purpose.Treatment, [Category.Allergies], OtherPhysician, Days(3)))
            .Then(Denied(OtherPhysician, Purpose.Treatment, [Category.Allergies]));
    }
}
