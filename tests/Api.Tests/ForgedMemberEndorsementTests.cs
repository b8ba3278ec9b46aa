using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to the store joins a hospital of their own to the network past the service (Mallory, with
/// keys of their own, unendorsed), then, with one real hospital colluding, endorses a consent on a patient's stream: two
/// signatures, as the policy (two of the members) asks — if Mallory were a member. Verification reports the forged network
/// event, and must also judge the patient's transaction by the network as far as it verifies: Mallory's signature counts
/// for nothing there, so the consent is named as not endorsed enough, by <c>verify</c> and by the patient's own verification.
/// </summary>
public abstract class ForgedMemberEndorsementSpec(TestStore store) : ServiceOnStore(store)
{
    [SkippableFact]
    public async Task A_forged_members_signature_does_not_count_on_a_later_patient_transaction()
    {
        // An endorsed change first, so the forgery cannot pass as more of the founding.
        Assert.Equal(HttpStatusCode.Created, (await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-locum", role = "physician" })).StatusCode);
        var (patient, patientClient) = await Host.NewPatientAsync("Petra Policy");
        var events = Host.Services.GetRequiredService<IEventStore>();
        var serializer = Host.Services.GetRequiredService<EventSerializer>();
        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var colluding = new ColludingHospitals(Host, "northside");
        // Stamped as the founding was, so Mallory would have been a member long before the consent.
        var end = await colluding.ForgeMemberAsync("mallory", mallory) - 1;
        var stream = PatientStream.StreamId(patient);
        var consent = await colluding.AppendAsync(stream, [("mallory", mallory)],
            new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow, null));

        // `verify`'s own loading and pass, in process (both stores).
        var report = await StoreVerifier.VerifyAsync(events, new StoreVerifierOptions
        {
            EndorsementChecker = await EndorsementChecker.LoadAsync(events, serializer, Host.Services.GetRequiredService<NetworkGenesisPin>()),
            Genesis = Host.Services.GetRequiredService<NetworkGenesisPin>(),
        });
        Assert.Contains(report.Problems, p => (p.StreamId, p.Version, p.Code) == (NetworkStream.StreamId, end + 1, VerificationCodes.Unendorsed));
        AssertNotEndorsedByMallory(report.Problems.Select(p => (p.StreamId, p.Version, p.Code, p.Message)), stream, consent);

        using var verification = await patientClient.GetAsync($"/patients/{patient}/verification");
        var own = await verification.JsonAsync();
        Assert.False(own.GetProperty("verified").GetBoolean());
        var problems = own.GetProperty("problems").EnumerateArray().Select(Problem).ToList();
        Assert.Contains((NetworkStream.StreamId, end + 1, VerificationCodes.Unendorsed), problems.Select(p => (p.StreamId, p.Version, p.Code)));
        AssertNotEndorsedByMallory(problems, stream, consent);

        if (!Host.OnEventStoreDb)
        {
            var verify = await Host.RunVerbAsync("verify");
            Assert.True(verify.ExitCode == 1, $"exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
            Assert.Contains($"network v{end + 1}: unendorsed:", verify.Stdout);
            Assert.Contains($"{stream} v{consent}: unknown-endorser: Signed by 'mallory'", verify.Stdout);
            Assert.Contains($"{stream} v{consent}: policy-not-met:", verify.Stdout);
        }
    }

    /// <summary>Mallory is no member for the consent, and Northside's signature alone does not meet the policy.</summary>
    private static void AssertNotEndorsedByMallory(IEnumerable<(string StreamId, long Version, string Code, string Message)> problems, string stream, long version)
    {
        var atConsent = problems.Where(p => p.StreamId == stream && p.Version == version).ToList();
        Assert.Contains(atConsent, p => p.Code == VerificationCodes.UnknownEndorser && p.Message.Contains("'mallory'", StringComparison.Ordinal));
        Assert.Contains(atConsent, p => p.Code == VerificationCodes.PolicyNotMet);
    }

    private static (string StreamId, long Version, string Code, string Message) Problem(JsonElement p) =>
        (p.GetProperty("streamId").GetString()!, p.GetProperty("version").GetInt64(), p.GetProperty("code").GetString()!, p.GetProperty("message").GetString()!);
}

public sealed class ForgedMemberEndorsementTests() : ForgedMemberEndorsementSpec(TestStore.PostgreSql);

public sealed class ForgedMemberEndorsementOnEventStoreDbTests() : ForgedMemberEndorsementSpec(TestStore.EventStoreDb);
