using HealthEvents.Domain.Network;

namespace HealthEvents.Domain.Tests.Network;

using static Actors;
using static Times;

public static class NetworkFixtures
{
    public static JoinHospital Join(string hospitalId, Actor actor) => new(
        hospitalId, $"{hospitalId} hospital", $"https://{hospitalId}.example/endorse",
        $"{hospitalId}-endorse-1", $"pk-endorse-{hospitalId}", $"{hospitalId}-id-1", $"pk-id-{hospitalId}", actor, Now);

    public static HospitalJoined Joined(string hospitalId) => new(
        hospitalId, $"{hospitalId} hospital", $"https://{hospitalId}.example/endorse",
        $"{hospitalId}-endorse-1", $"pk-endorse-{hospitalId}", $"{hospitalId}-id-1", $"pk-id-{hospitalId}");

    public static readonly HospitalJoined HomeJoined = Joined(Hospitals.Home);
    public static readonly HospitalJoined OtherJoined = Joined(Hospitals.Other);

    public static RotateHospitalKey Rotate(Actor actor, string keyId = "st-olav-endorse-2", DateTimeOffset? effectiveFrom = null) =>
        new(Hospitals.Home, KeyUse.Endorsement, keyId, "pk-endorse-2", effectiveFrom ?? Days(1), actor, Now);

    /// <summary>One well-formed command of every kind, issued by a member admin.</summary>
    public static readonly IReadOnlyDictionary<string, INetworkCommand> EveryCommand = new Dictionary<string, INetworkCommand>
    {
        ["join"] = Join(Hospitals.Third, Admin),
        ["rotate"] = Rotate(Admin),
        ["register-practitioner"] = new RegisterPractitioner(Hospitals.Home, "dr-new", Role.Physician, Admin, Now),
        ["register-researcher"] = new RegisterResearcher("researcher-new", "University", Admin, Now),
        ["change-policy"] = new ChangeEndorsementPolicy("AND(home, OutOf(1, *))", Admin, Now),
    };

    public static TheoryData<string> EveryCommandName => [.. EveryCommand.Keys];
}
