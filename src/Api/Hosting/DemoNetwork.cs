using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Hosting;

/// <summary>The demo network ./run.sh seeds on first start: three hospitals, staff of every role, a researcher, three patients.</summary>
public static class DemoNetwork
{
    public static readonly string[] Hospitals = ["northside", "riverside", "lakeside"];

    private static readonly Dictionary<string, string> Names = new()
    {
        ["northside"] = "Northside General Hospital",
        ["riverside"] = "Riverside University Hospital",
        ["lakeside"] = "Lakeside Clinic",
    };

    public static readonly Role[] StaffRoles = [Role.Physician, Role.Nurse, Role.HomeCare, Role.Pharmacist, Role.Admin];

    public const string ResearcherId = "researcher-1";

    public static string StaffId(string hospital, Role role) => $"{hospital}-{KebabCase.Of(role)}";

    public sealed record DemoPatient(Guid Id, string Subject, string Name, string HomeHospital, int BirthYear, string Sex);

    public static readonly DemoPatient[] Patients =
    [
        new(Guid.Parse("a11ce000-0000-4000-8000-000000000001"), "alice", "Alice Demo", "northside", 1961, "female"),
        new(Guid.Parse("b0b00000-0000-4000-8000-000000000002"), "bob", "Bob Demo", "riverside", 1985, "male"),
        new(Guid.Parse("ca501000-0000-4000-8000-000000000003"), "carol", "Carol Demo", "lakeside", 1992, "female"),
    ];

    /// <param name="endpoints">Endorser URL per hospital (HealthEvents:Endorsers:{hospital}); in-process where none is given.</param>
    public static GenesisFile Genesis(IConfiguration? endpoints = null) => new(
        Hospitals.Select(h => new GenesisHospital(h, Names[h], endpoints?[h] is { Length: > 0 } url ? url : EndorserClients.InProcess)).ToList(),
        Hospitals.SelectMany(h => StaffRoles.Select(r => new GenesisPractitioner(h, StaffId(h, r), r))).ToList(),
        [new GenesisResearcher(ResearcherId, "Lakeside University", "lakeside")],
        EndorsementPolicy: null);
}
