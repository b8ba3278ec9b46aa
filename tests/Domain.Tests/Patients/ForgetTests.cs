using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class ForgetTests
{
    [Fact]
    public void Patient_is_forgotten_at_their_own_request() =>
        PatientSpec.Given(Registered).When(new ForgetPatient(Patient, Now)).Then(new PatientForgotten(Now));

    [Fact]
    public void Only_the_patient_asks_to_be_forgotten()
    {
        PatientSpec.Given(Registered).When(new ForgetPatient(Physician, Now)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(new ForgetPatient(OtherPatient, Now)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
    }

    [Theory]
    [MemberData(nameof(EveryCommandName), MemberType = typeof(PatientFixtures))]
    public void Forgotten_patient_refuses_commands(string command) =>
        PatientSpec.Given(
                Registered,
                EntryAdded(Physician),
                Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies]),
                new InsuranceLinked("insurer", "hash", Days(-10), Days(100)),
                new PatientForgotten(Days(-1)))
            .When(EveryCommand[command])
            .ThenFails(RejectionKind.Conflict, "patient-forgotten");

    [Fact]
    public void Forgotten_patient_releases_nothing()
    {
        var state = PatientSpec.Fold(Registered, new PatientForgotten(Days(-1)));

        var evaluation = PatientDecider.Evaluate(state, Patient, Purpose.Treatment, [Category.Allergies], AccessAction.Read, Now);

        Assert.Empty(evaluation.Released);
    }
}
