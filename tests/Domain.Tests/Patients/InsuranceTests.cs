using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class InsuranceTests
{
    private static readonly InsuranceLinked Linked = new("insurer", "policy-hash", Days(-10), Days(100));

    private static LinkInsurance Link(Actor actor) => new("insurer", "policy-hash", Days(-10), Days(100), actor, Now);

    [Fact]
    public void Admin_links_insurance() =>
        PatientSpec.Given(Registered).When(Link(Admin)).Then(Linked);

    [Fact]
    public void Admin_of_another_hospital_neither_links_nor_ends_insurance()
    {
        PatientSpec.Given(Registered).When(Link(OtherAdmin)).ThenFails(RejectionKind.Forbidden, "not-home-hospital");
        PatientSpec.Given(Registered, Linked).When(new EndInsurance(OtherAdmin, Now)).ThenFails(RejectionKind.Forbidden, "not-home-hospital");
    }

    [Fact]
    public void Only_admins_link_insurance()
    {
        PatientSpec.Given(Registered).When(Link(Physician)).ThenFails(RejectionKind.Forbidden, "admin-required");
        PatientSpec.Given(Registered).When(Link(Patient)).ThenFails(RejectionKind.Forbidden, "admin-required");
    }

    [Fact]
    public void Insurance_validity_must_end_after_it_starts() =>
        PatientSpec.Given(Registered).When(Link(Admin) with { ValidUntil = Days(-10) }).ThenFails(RejectionKind.Invalid, "validity-period-invalid");

    [Fact]
    public void Insurance_needs_insurer_and_policy_reference()
    {
        PatientSpec.Given(Registered).When(Link(Admin) with { Insurer = "" }).ThenFails(RejectionKind.Invalid, "insurer-required");
        PatientSpec.Given(Registered).When(Link(Admin) with { PolicyReferenceHash = "" }).ThenFails(RejectionKind.Invalid, "policy-reference-required");
    }

    [Fact]
    public void Admin_ends_current_insurance() =>
        PatientSpec.Given(Registered, Linked).When(new EndInsurance(Admin, Now)).Then(new InsuranceEnded(Now));

    [Fact]
    public void Only_admins_end_insurance() =>
        PatientSpec.Given(Registered, Linked).When(new EndInsurance(Physician, Now)).ThenFails(RejectionKind.Forbidden, "admin-required");

    [Fact]
    public void Ending_needs_a_current_insurance()
    {
        PatientSpec.Given(Registered).When(new EndInsurance(Admin, Now)).ThenFails(RejectionKind.Conflict, "no-current-insurance");
        PatientSpec.Given(Registered, Linked, new InsuranceEnded(Days(-1))).When(new EndInsurance(Admin, Now))
            .ThenFails(RejectionKind.Conflict, "no-current-insurance");
        PatientSpec.Given(Registered, Linked).When(new EndInsurance(Admin, Days(100)))
            .ThenFails(RejectionKind.Conflict, "no-current-insurance");
    }

    [Fact]
    public void Linking_records_the_insurance_period() =>
        Assert.Equal(new InsurancePeriod("insurer", Days(-10), Days(100), EndedAt: null, "policy-hash"), PatientSpec.Fold(Registered, Linked).Insurance);

    [Fact]
    public void Ending_insurance_records_when_it_ended()
    {
        var state = PatientSpec.Fold(Registered, Linked, new InsuranceEnded(Now));

        Assert.Equal(Now, state.Insurance?.EndedAt);
        Assert.False(state.HasCurrentInsurance(Days(1)));
    }

    [Fact]
    public void Unregistered_or_uninsured_patient_has_no_insurance() =>
        Assert.Null(PatientSpec.Fold(Registered).Insurance);

    [Fact]
    public void Relinking_replaces_the_insurance_period()
    {
        var state = PatientSpec.Fold(Registered, Linked, new InsuranceEnded(Days(-1)), new InsuranceLinked("other", "hash-2", Now, Days(10)));

        Assert.Equal(new InsurancePeriod("other", Now, Days(10), EndedAt: null, "hash-2"), state.Insurance);
        Assert.True(state.HasCurrentInsurance(Now));
    }

    private static ImportInsurance Imported(Actor actor) => new("insurer", "policy-hash", Days(-10), Days(100), actor, Now);

    [Fact]
    public void A_clinician_of_the_home_hospital_links_the_insurance_an_import_names() =>
        PatientSpec.Given(Registered).When(Imported(Nurse)).Then(Linked);

    [Fact]
    public void An_imported_insurance_is_linked_only_by_a_clinician_of_the_home_hospital()
    {
        PatientSpec.Given(Registered).When(Imported(OtherPhysician)).ThenFails(RejectionKind.Forbidden, "not-home-hospital");
        PatientSpec.Given(Registered).When(Imported(Admin)).ThenFails(RejectionKind.Forbidden, "not-home-hospital");
        PatientSpec.Given(Registered).When(Imported(Patient)).ThenFails(RejectionKind.Forbidden, "not-home-hospital");
    }

    [Fact]
    public void Importing_the_insurance_already_linked_is_no_event_and_another_one_relinks()
    {
        PatientSpec.Given(Registered, Linked).When(Imported(Physician)).Then();
        PatientSpec.Given(Registered, Linked).When(Imported(Physician) with { PolicyReferenceHash = "other-hash" })
            .Then(Linked with { PolicyReferenceHash = "other-hash" });
        PatientSpec.Given(Registered, Linked, new InsuranceEnded(Days(-1))).When(Imported(Physician)).Then(Linked);
    }

    [Fact]
    public void An_imported_insurance_without_a_start_keeps_the_start_of_the_same_link_else_starts_now()
    {
        PatientSpec.Given(Registered, Linked).When(Imported(Physician) with { ValidFrom = null }).Then();
        PatientSpec.Given(Registered).When(Imported(Physician) with { ValidFrom = null }).Then(Linked with { ValidFrom = Now });
        PatientSpec.Given(Registered, Linked).When(Imported(Physician) with { ValidFrom = null, PolicyReferenceHash = "other-hash" })
            .Then(new InsuranceLinked("insurer", "other-hash", Now, Days(100)));
    }

    [Fact]
    public void An_imported_insurance_is_judged_as_a_linked_one() =>
        PatientSpec.Given(Registered).When(Imported(Physician) with { ValidUntil = Days(-10) }).ThenFails(RejectionKind.Invalid, "validity-period-invalid");
}
