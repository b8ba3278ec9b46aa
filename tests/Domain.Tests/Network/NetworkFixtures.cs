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

    public static HospitalAdmission Admission(string hospitalId) => new(
        hospitalId, $"{hospitalId} hospital", $"https://{hospitalId}.example/endorse",
        $"{hospitalId}-endorse-1", $"pk-endorse-{hospitalId}", $"{hospitalId}-id-1", $"pk-id-{hospitalId}");

    public static readonly Guid ProposalId = Ids.Of(100);

    public static ProposeNetworkChange Propose(NetworkChange change, Actor actor, Guid? proposalId = null) =>
        new(proposalId ?? ProposalId, change, actor, Now);

    public static ApproveNetworkChange Approve(Actor actor, Guid? proposalId = null) => new(proposalId ?? ProposalId, actor, Now);

    public static readonly Guid OpenPolicyProposal = Ids.Of(99);

    /// <summary>Two members, a nurse at home, and a policy proposal the other hospital has approved: every command below applies.</summary>
    public static readonly INetworkEvent[] EveryCommandHistory =
    [
        HomeJoined, OtherJoined, new PractitionerRegistered(Hospitals.Home, "nurse-old", Role.Nurse),
        new ChangeProposed(OpenPolicyProposal, NetworkChange.EndorsementPolicy("OutOf(1, *)"), Hospitals.Other),
        new ChangeApproved(OpenPolicyProposal, Hospitals.Other),
    ];

    /// <summary>One well-formed command of every kind, issued by a member admin.</summary>
    public static readonly IReadOnlyDictionary<string, INetworkCommand> EveryCommand = new Dictionary<string, INetworkCommand>
    {
        ["rotate"] = Rotate(Admin),
        ["register-practitioner"] = new RegisterPractitioner(Hospitals.Home, "dr-new", Role.Physician, Admin, Now),
        ["register-researcher"] = new RegisterResearcher("researcher-new", "University", Admin, Now),
        ["deregister-practitioner"] = new DeregisterPractitioner("nurse-old", Admin, Now),
        ["propose-admission"] = Propose(NetworkChange.Admit(Admission(Hospitals.Third)), Admin),
        ["propose-policy"] = Propose(NetworkChange.EndorsementPolicy("AND(home, OutOf(1, *))"), Admin),
        ["approve"] = Approve(Admin, OpenPolicyProposal),
    };

    public static TheoryData<string> EveryCommandName => [.. EveryCommand.Keys];
}
