using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A patient signs their consents with their own device key (issue 12, point 7). Two hospitals collude — both
/// endorsement keys in hand, write access to the store — and add a consent the patient never signed: endorsed as the
/// policy asks, hash-chained, a transaction like any other, except that no device key signed it. The service's own
/// verifier (GET /verification) and `./run.sh verify` name it, as the patient's page does
/// (BrowserVerifierParityTests holds the three to the same verdict).
/// </summary>
public sealed class ColludedConsentTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task An_unsigned_consent_written_by_colluding_hospitals_is_named_by_the_server_and_the_command_line()
    {
        using var signed = await Host.SignedPatientAsync("Ines Intact");
        var (id, patient) = (signed.Id, signed.Patient);

        // Northside (the home hospital) and Riverside give Lakeside the patient's mental-health records, unsigned.
        var stream = signed.StreamId;
        var unsigned = await new ColludingHospitals(Host, "northside", "riverside").AppendAsync(stream,
            new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow, null));

        var report = await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync();
        Assert.False(report.GetProperty("verified").GetBoolean());
        Assert.Equal(unsigned + 1, report.GetProperty("firstBrokenVersion").GetInt64());
        var problem = Assert.Single(report.GetProperty("problems").EnumerateArray());
        Assert.Equal((stream, unsigned + 1, "unsigned"),
            (problem.GetProperty("streamId").GetString(), problem.GetProperty("version").GetInt64(), problem.GetProperty("code").GetString()));

        var verify = await Host.RunVerbAsync("verify");
        Assert.True(verify.ExitCode == 1, $"exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
        Assert.Contains($"{stream} v{unsigned + 1}: unsigned:", verify.Stdout);
        Assert.Contains("NOT verified: 1 of", verify.Stdout);
    }
}
