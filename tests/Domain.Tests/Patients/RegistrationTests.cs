using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class RegistrationTests
{
    [Fact]
    public void Practitioner_registers_patient_into_own_hospital() =>
        PatientSpec.Given().When(Register(Nurse)).Then(Registered);

    [Fact]
    public void Only_practitioners_register_patients()
    {
        PatientSpec.Given().When(Register(Patient)).ThenFails(RejectionKind.Forbidden, "practitioner-required");
        PatientSpec.Given().When(Register(Researcher with { Hospital = Hospitals.Home })).ThenFails(RejectionKind.Forbidden, "practitioner-required");
    }

    [Fact]
    public void Patients_are_registered_only_into_the_practitioners_own_hospital() =>
        PatientSpec.Given().When(Register(OtherPhysician, Hospitals.Home)).ThenFails(RejectionKind.Forbidden, "not-own-hospital");

    [Fact]
    public void Patient_is_registered_once() =>
        PatientSpec.Given(Registered).When(Register(Physician)).ThenFails(RejectionKind.Conflict, "patient-exists");

    [Fact]
    public void An_imports_registration_of_a_patient_the_same_hospital_registered_is_no_event()
    {
        PatientSpec.Given().When(Register(Physician) with { IfAbsent = true }).Then(Registered);
        PatientSpec.Given(Registered).When(Register(Nurse) with { IfAbsent = true }).Then();
        // Another home hospital is still a conflict (and judged first: not its own hospital).
        PatientSpec.Given(Registered).When(Register(OtherPhysician, Hospitals.Other) with { IfAbsent = true })
            .ThenFails(RejectionKind.Conflict, "patient-exists");
        PatientSpec.Given(Registered).When(Register(OtherPhysician, Hospitals.Home) with { IfAbsent = true })
            .ThenFails(RejectionKind.Forbidden, "not-own-hospital");
    }

    [Theory]
    [InlineData(1899)]
    [InlineData(2026)]
    public void Birth_year_must_be_plausible(int birthYear) =>
        PatientSpec.Given().When(Register(Physician, birthYear: birthYear)).ThenFails(RejectionKind.Invalid, "birth-year-implausible");

    [Theory]
    [InlineData(1900)]
    [InlineData(2025)]
    public void Birth_years_from_1900_to_this_year_are_plausible(int birthYear) =>
        PatientSpec.Given().When(Register(Physician, birthYear: birthYear))
            .Then(Registered with { BirthYear = birthYear });

    [Fact]
    public void Registration_needs_demographics() =>
        PatientSpec.Given().When(Register(Physician) with { EncryptedDemographics = " " })
            .ThenFails(RejectionKind.Invalid, "demographics-required");

    [Theory]
    [MemberData(nameof(EveryCommandButRegister), MemberType = typeof(PatientFixtures))]
    public void Commands_on_an_unregistered_patient_are_not_found(string command) =>
        PatientSpec.Given().When(EveryCommand[command]).ThenFails(RejectionKind.NotFound, "patient-not-found");

    [Fact]
    public void Home_hospital_practitioner_corrects_details() =>
        PatientSpec.Given(Registered)
            .When(new CorrectPatientDetails(1981, Sex.Other, "enc:corrected", Nurse, Now))
            .Then(new PatientDetailsCorrected(1981, Sex.Other, "enc:corrected"));

    [Fact]
    public void Only_the_home_hospital_corrects_details()
    {
        PatientSpec.Given(Registered)
            .When(new CorrectPatientDetails(1981, Sex.Other, "enc:corrected", OtherPhysician, Now))
            .ThenFails(RejectionKind.Forbidden, "not-home-hospital");
        PatientSpec.Given(Registered)
            .When(new CorrectPatientDetails(1981, Sex.Other, "enc:corrected", Patient, Now))
            .ThenFails(RejectionKind.Forbidden, "not-home-hospital");
    }

    [Fact]
    public void Corrected_birth_year_must_be_plausible() =>
        PatientSpec.Given(Registered)
            .When(new CorrectPatientDetails(1850, Sex.Other, "enc:corrected", Physician, Now))
            .ThenFails(RejectionKind.Invalid, "birth-year-implausible");
}
