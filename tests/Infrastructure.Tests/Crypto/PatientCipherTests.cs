using System.Security.Cryptography;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Crypto;

namespace HealthEvents.Infrastructure.Tests.Crypto;

public sealed class PatientCipherTests(KeyStoreDatabase db) : IClassFixture<KeyStoreDatabase>
{
    private const string Secret = "Diagnosis: hypertension — lisinopril 10 mg";

    private readonly PatientCipher _cipher = new(db.NewStore());

    [Theory]
    [InlineData(Secret)]
    [InlineData("")]
    [InlineData("Ünïcødé 🩺 content")]
    public async Task Round_trips(string plaintext)
    {
        var patient = Guid.NewGuid();

        var ciphertext = await _cipher.EncryptAsync(patient, plaintext);

        Assert.Equal(plaintext, await _cipher.DecryptAsync(patient, ciphertext));
        Assert.Equal(plaintext, await new PatientCipher(db.NewStore()).DecryptAsync(patient, ciphertext));
    }

    [Fact]
    public async Task Ciphertext_differs_each_time_and_does_not_contain_the_plaintext()
    {
        var patient = Guid.NewGuid();

        var first = await _cipher.EncryptAsync(patient, Secret);
        var second = await _cipher.EncryptAsync(patient, Secret);

        Assert.NotEqual(first, second);
        foreach (var ciphertext in new[] { first, second })
        {
            Assert.DoesNotContain("hypertension", ciphertext);
            Assert.DoesNotContain("hypertension", Encoding.UTF8.GetString(Convert.FromBase64String(ciphertext)));
        }
    }

    [Fact]
    public async Task Tampered_ciphertext_fails_to_decrypt()
    {
        var patient = Guid.NewGuid();
        var bytes = Convert.FromBase64String(await _cipher.EncryptAsync(patient, Secret));
        bytes[20] ^= 0x01;

        await Assert.ThrowsAnyAsync<CryptographicException>(() => _cipher.DecryptAsync(patient, Convert.ToBase64String(bytes)));
    }

    [Fact]
    public async Task Ciphertext_bound_to_one_patient_does_not_decrypt_for_another()
    {
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        await _cipher.EncryptAsync(b, "b has a key too");

        var ofA = await _cipher.EncryptAsync(a, Secret);

        await Assert.ThrowsAnyAsync<CryptographicException>(() => _cipher.DecryptAsync(b, ofA));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => _cipher.DecryptAsync(Guid.NewGuid(), ofA));
    }

    [Fact]
    public async Task A_wrong_key_encryption_key_cannot_unwrap()
    {
        var patient = Guid.NewGuid();
        var ciphertext = await _cipher.EncryptAsync(patient, Secret);
        var wrongKek = new PatientCipher(db.NewStore(KeyEncryptionKey.FromBase64(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(AesGcmSealer.KeySize)))));

        var error = await Assert.ThrowsAnyAsync<CryptographicException>(() => wrongKek.DecryptAsync(patient, ciphertext));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => wrongKek.EncryptAsync(patient, Secret));
        Assert.Contains("key-encryption key", error.Message);
    }

    [Fact]
    public async Task After_forgetting_content_reads_as_null_and_nothing_new_is_encrypted()
    {
        var patient = Guid.NewGuid();
        var ciphertext = await _cipher.EncryptAsync(patient, Secret); // also caches the key in this cipher

        await _cipher.ForgetAsync(patient);

        Assert.Null(await _cipher.DecryptAsync(patient, ciphertext));
        Assert.Null(await new PatientCipher(db.NewStore()).DecryptAsync(patient, ciphertext));
        var refused = await Assert.ThrowsAsync<PatientForgottenException>(() => _cipher.EncryptAsync(patient, Secret));
        Assert.DoesNotContain(patient.ToString(), refused.Message);
        Assert.DoesNotContain(patient.ToString("N"), refused.Message);
    }

    [Fact]
    public async Task Forgetting_is_idempotent_and_works_before_any_content_exists()
    {
        var patient = Guid.NewGuid();

        await _cipher.ForgetAsync(patient);
        var destroyedAt = await db.ScalarAsync<DateTime>("SELECT destroyed_at FROM he_data_keys WHERE patient_id = @id", patient);
        await _cipher.ForgetAsync(patient);

        Assert.Equal(destroyedAt, await db.ScalarAsync<DateTime>("SELECT destroyed_at FROM he_data_keys WHERE patient_id = @id", patient));
        await Assert.ThrowsAsync<PatientForgottenException>(() => _cipher.EncryptAsync(patient, Secret));
    }
}
