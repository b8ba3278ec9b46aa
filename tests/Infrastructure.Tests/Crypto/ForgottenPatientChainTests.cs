using System.Text;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.Crypto;

namespace HealthEvents.Infrastructure.Tests.Crypto;

/// <summary>docs/architecture.md, "Privacy": forgetting a patient makes the content unreadable while the chain still verifies.</summary>
public sealed class ForgottenPatientChainTests(KeyStoreDatabase db) : IClassFixture<KeyStoreDatabase>
{
    [Fact]
    public async Task A_forgotten_patients_chain_still_verifies_and_their_content_reads_as_null()
    {
        var patient = Guid.NewGuid();
        var cipher = new PatientCipher(db.NewStore());
        var streamId = $"patient-{patient:N}";
        var proposed = new List<ProposedEvent>();
        foreach (var entry in new[] { "Allergy: penicillin", "Diagnosis: asthma", "Prescription: salbutamol" })
        {
            var data = JsonSerializer.SerializeToUtf8Bytes(new { patientId = patient, content = await cipher.EncryptAsync(patient, entry) });
            proposed.Add(new ProposedEvent(Guid.NewGuid(), "EntryAdded", data, """{"actor":"dr-1","hospital":"h1"}"""u8.ToArray()));
        }
        var events = HashChain.Link(streamId, -1, HashChain.Genesis, proposed, null);
        Assert.True(StreamVerifier.Verify(events).Verified);

        await cipher.ForgetAsync(patient);

        Assert.True(StreamVerifier.Verify(events).Verified);
        foreach (var e in events)
        {
            var content = JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetString()!;
            Assert.Null(await cipher.DecryptAsync(patient, content));
            Assert.DoesNotContain("asthma", Encoding.UTF8.GetString(e.Data));
        }
    }
}
