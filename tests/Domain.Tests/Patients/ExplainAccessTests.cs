using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

/// <summary>"Why can or can't I see it?": the answer is what <see cref="PatientDecider.Evaluate"/> would decide, and a practitioner's question is recorded.</summary>
public class ExplainAccessTests
{
    private const Purpose Treatment = Purpose.Treatment;
    private const Category Allergies = Category.Allergies;
    private const Category Medications = Category.Medications;

    private static ExplainAccess Ask(Actor actor, Purpose purpose, params Category[] categories) => new(AccessId, purpose, categories, actor, Now);

    [Fact]
    public void A_practitioners_question_is_recorded_with_the_consents_that_allow_it_and_why_the_rest_is_withheld() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies]))
            .When(Ask(OtherNurse, Treatment, Medications, Allergies, Medications))
            .Then(new AccessExplained(AccessId, OtherNurse, Treatment, [Medications, Allergies], [Allergies], [ConsentId], DenialReasons.NoConsent));

    [Fact]
    public void Everything_allowed_has_no_reason() =>
        PatientSpec.Given(Registered, Consent(Grantee.Practitioner(OtherNurse.Id), [Allergies, Medications]))
            .When(Ask(OtherNurse, Treatment, Allergies))
            .Then(new AccessExplained(AccessId, OtherNurse, Treatment, [Allergies], [Allergies], [ConsentId], null));

    [Fact]
    public void Nothing_allowed_gives_the_reason_an_access_request_would_be_denied_for() =>
        PatientSpec.Given(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies]), new ConsentRevoked(ConsentId))
            .When(Ask(OtherPhysician, Treatment, Allergies))
            .Then(new AccessExplained(AccessId, OtherPhysician, Treatment, [Allergies], [], [], DenialReasons.NoConsent));

    [Fact]
    public void The_explanation_agrees_with_the_decision_an_access_request_gets()
    {
        var history = new IPatientEvent[]
        {
            Registered,
            Consent(Grantee.Hospital(Hospitals.Other), [.. Categories.All.Where(c => !c.IsSensitive())]),
            Consent(Grantee.OfRole(Role.HomeCare), [Category.MentalHealth], consentId: Ids.Of(21), purposes: [Purpose.Insurance]),
        };
        var state = PatientSpec.Fold(history);
        foreach (var actor in new[] { OtherNurse, HomeCareNurse, ThirdPhysician, Researcher, Patient })
        foreach (var purpose in Enum.GetValues<Purpose>())
        {
            Category[] asked = [Category.MentalHealth, Allergies, Category.Genetics];
            var explanation = PatientDecider.Explain(state, actor, purpose, asked, Now);
            var decided = PatientDecider.Decide(new RequestAccess(AccessId, purpose, asked, actor, Now), state).Single();
            switch (decided)
            {
                case AccessGranted g:
                    Assert.Equal(g.CategoriesReleased, explanation.Released);
                    Assert.Equal(g.ConsentIds, explanation.ConsentIds);
                    Assert.Equal(asked.Except(g.CategoriesReleased), explanation.Withheld);
                    break;
                case AccessDenied d:
                    Assert.Empty(explanation.Released);
                    Assert.Equal(d.Reason, explanation.Reason);
                    break;
            }
        }
    }

    [Fact]
    public void A_forgotten_patients_record_is_explained_as_the_domain_denies_it()
    {
        var state = PatientSpec.Fold(Registered, Consent(Grantee.Hospital(Hospitals.Other), [Allergies]), new PatientForgotten(Now));

        var explanation = PatientDecider.Explain(state, OtherNurse, Treatment, [Allergies], Now);

        Assert.Empty(explanation.Released);
        Assert.Equal(DenialReasons.PatientForgotten, explanation.Reason);
    }

    [Fact]
    public void Researchers_do_not_ask_about_a_person() =>
        PatientSpec.Given(Registered).When(Ask(Researcher, Purpose.Research, Allergies)).ThenFails(RejectionKind.Forbidden, "practitioners-only");

    [Fact]
    public void The_patient_asks_without_a_command() =>
        PatientSpec.Given(Registered).When(Ask(Patient, Treatment, Allergies)).ThenFails(RejectionKind.Forbidden, "practitioners-only");

    [Fact]
    public void A_question_names_categories() =>
        PatientSpec.Given(Registered).When(Ask(OtherNurse, Treatment)).ThenFails(RejectionKind.Invalid, "categories-required");
}
