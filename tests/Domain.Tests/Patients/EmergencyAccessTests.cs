using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

public class EmergencyAccessTests
{
    [Fact]
    public void Physician_breaks_glass_and_gets_every_category() =>
        PatientSpec.Given(Registered)
            .When(new UseEmergencyAccess(AccessId, "unconscious on arrival", ThirdPhysician, Now))
            .Then(new EmergencyAccessUsed(AccessId, ThirdPhysician, "unconscious on arrival", [.. Categories.All]));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Break_glass_needs_a_reason(string reason) =>
        PatientSpec.Given(Registered)
            .When(new UseEmergencyAccess(AccessId, reason, Physician, Now))
            .ThenFails(RejectionKind.Invalid, "reason-required");

    [Fact]
    public void Break_glass_needs_a_physician()
    {
        foreach (var actor in new[] { OtherNurse, HomeCareNurse, Admin, Researcher, Patient })
        {
            PatientSpec.Given(Registered)
                .When(new UseEmergencyAccess(AccessId, "unconscious on arrival", actor, Now))
                .Then(new AccessDenied(AccessId, actor, Purpose.Treatment, [.. Categories.All], "break-glass requires a physician"));
        }
    }
}
