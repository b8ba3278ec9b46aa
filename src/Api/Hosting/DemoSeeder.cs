using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Mediator;
using static HealthEvents.Api.Hosting.DemoNetwork;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// First start: founds the network from the genesis file (the demo network when none is given) and
/// adds demo patients. Every start: writes fresh demo tokens to {data}/demo/tokens.json.
/// </summary>
public sealed class DemoSeeder(
    NetworkGenesis genesis, IServiceScopeFactory scopes, HospitalKeyring keyring, INodeIdentity node, IConfiguration configuration, ILogger<DemoSeeder> log)
{
    public sealed record DemoToken(string Name, string Role, string Hospital, string Subject, Guid? PatientId, string Token);

    public sealed record DemoTokens(IReadOnlyList<DemoToken> Tokens);

    /// <summary>The tokens written at this start (empty until seeded), for the page's demo sign-in.</summary>
    public IReadOnlyList<DemoToken> IssuedTokens { get; private set; } = [];

    public async Task SeedAsync(string dataFolder, CancellationToken ct)
    {
        var genesisPath = Path.Combine(dataFolder, "genesis.json");
        if (!File.Exists(genesisPath)) DemoNetwork.Genesis(configuration.GetSection("HealthEvents:Endorsers")).Save(genesisPath);
        if (await genesis.SeedIfEmptyAsync(GenesisFile.Load(genesisPath), ct))
        {
            log.LogInformation("Network founded from {GenesisFile}", genesisPath);
            await SeedPatientsAsync(ct);
        }
        WriteTokens(Path.Combine(dataFolder, "demo", "tokens.json"));
    }

    private async Task SeedPatientsAsync(CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        // A node speaks only for the hospitals it acts for (HealthEvents:NodeHospital): it seeds their patients alone.
        foreach (var p in Patients.Where(p => node.ActsFor(p.HomeHospital)))
        {
            var physician = Context(StaffId(p.HomeHospital, Role.Physician), Role.Physician, p.HomeHospital);
            await mediator.Send(new RegisterPatientCommand(p.Id, p.HomeHospital, p.BirthYear, p.Sex, p.Name, physician), ct);
        }
        var alice = Patients[0];
        if (node.ActsFor(alice.HomeHospital)) await SeedAliceAsync(mediator, alice, ct);
        var bob = Patients[1];
        if (node.ActsFor(bob.HomeHospital)) await SeedBobAsync(mediator, bob, ct);
        var carol = Patients[2];
        if (node.ActsFor(carol.HomeHospital))
            await mediator.Send(new AddRecordEntryCommand(carol.Id, null, "vaccinations", new("http://snomed.info/sct", "871875004", "Measles vaccination"),
                "Second dose given.", null, Context(StaffId(carol.HomeHospital, Role.Nurse), Role.Nurse, carol.HomeHospital)), ct);
        log.LogInformation("Demo patients seeded");
    }

    private static async Task SeedAliceAsync(IMediator mediator, DemoPatient alice, CancellationToken ct)
    {
        Func<CommandContext> aliceDoctor = () => Context(StaffId(alice.HomeHospital, Role.Physician), Role.Physician, alice.HomeHospital);
        await mediator.Send(new AddRecordEntryCommand(alice.Id, null, "conditions", new("http://hl7.org/fhir/sid/icd-10", "E11", "Type 2 diabetes mellitus"),
            "Diagnosed after routine blood work; diet advice given.", null, aliceDoctor()), ct);
        await mediator.Send(new AddRecordEntryCommand(alice.Id, null, "medications", new("http://www.whocc.no/atc", "A10BA02", "Metformin"),
            "Metformin 500 mg twice daily.", null, aliceDoctor()), ct);
        await mediator.Send(new AddRecordEntryCommand(alice.Id, null, "allergies", new("http://snomed.info/sct", "91936005", "Allergy to penicillin"),
            "Rash after amoxicillin in 2009.", null, aliceDoctor()), ct);
        await mediator.Send(new AddRecordEntryCommand(alice.Id, null, "mental-health", new("http://hl7.org/fhir/sid/icd-10", "F41.1", "Generalized anxiety disorder"),
            "Follow-up with counsellor monthly.", null, aliceDoctor()), ct);
        Func<CommandContext> aliceSelf = () => PatientContext(alice);
        await mediator.Send(new GrantConsentCommand(alice.Id, null, new("hospital", "riverside"), ["all"], ["treatment"], ["read"], null, null, aliceSelf()), ct);
        await mediator.Send(new GrantConsentCommand(alice.Id, null, new("role", "home-care"), ["medications", "allergies"], ["treatment"], ["read"],
            null, DateTimeOffset.UtcNow.AddDays(90), aliceSelf()), ct);
        await mediator.Send(new GrantConsentCommand(alice.Id, null, new("role", "researcher"), ["conditions", "medications"], ["research"], ["read"],
            null, null, aliceSelf()), ct);
    }

    private static async Task SeedBobAsync(IMediator mediator, DemoPatient bob, CancellationToken ct)
    {
        Func<CommandContext> bobDoctor = () => Context(StaffId(bob.HomeHospital, Role.Physician), Role.Physician, bob.HomeHospital);
        await mediator.Send(new AddRecordEntryCommand(bob.Id, null, "lab-results", new("http://loinc.org", "4548-4", "Hemoglobin A1c"),
            "HbA1c 6.1 %.", null, bobDoctor()), ct);
        await mediator.Send(new GrantConsentCommand(bob.Id, null, new("role", "researcher"), ["lab-results"], ["research"], ["read"], null, null, PatientContext(bob)), ct);
    }

    private void WriteTokens(string path)
    {
        var now = DateTimeOffset.UtcNow;
        // As long as the service accepts (a day by default); refreshed at every start.
        var lifetime = Auth.AuthSetup.MaxTokenLifetime(configuration);
        var tokens = new List<DemoToken>();
        foreach (var hospital in Hospitals.Where(node.ActsFor))
        foreach (var role in StaffRoles)
        {
            var subject = StaffId(hospital, role);
            tokens.Add(new($"{hospital} {KebabCase.Of(role)}", KebabCase.Of(role), hospital, subject, null,
                Tokens.Mint(keyring, hospital, subject, role, null, lifetime, now)));
        }
        if (node.ActsFor(Hospitals[2]))
            tokens.Add(new("researcher", "researcher", Hospitals[2], ResearcherId, null,
                Tokens.Mint(keyring, Hospitals[2], ResearcherId, Role.Researcher, null, lifetime, now)));
        foreach (var p in Patients.Where(p => node.ActsFor(p.HomeHospital)))
            tokens.Add(new($"{p.Subject} (patient)", "patient", p.HomeHospital, p.Subject, p.Id,
                Tokens.Mint(keyring, p.HomeHospital, p.Subject, Role.Patient, p.Id, lifetime, now)));

        IssuedTokens = tokens;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(new DemoTokens(tokens), new JsonSerializerOptions(Json.Options) { WriteIndented = true }));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static CommandContext Context(string subject, Role role, string hospital) => CommandContext.For(new Actor(subject, role, hospital));

    private static CommandContext PatientContext(DemoPatient p) => CommandContext.For(new Actor(p.Subject, Role.Patient, p.HomeHospital, p.Id));
}
