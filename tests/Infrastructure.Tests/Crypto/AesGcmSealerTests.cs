using System.Security.Cryptography;
using System.Text;
using HealthEvents.Infrastructure.Crypto;

namespace HealthEvents.Infrastructure.Tests.Crypto;

public sealed class AesGcmSealerTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("Diagnosis: type 2 diabetes, HbA1c 8.1%");
    private static readonly Guid Patient = Guid.NewGuid();

    [Fact]
    public void Round_trips_in_the_v1_layout()
    {
        var sealedBytes = AesGcmSealer.Seal(Key, Plaintext, AssociatedData.ForContent(Patient));

        Assert.Equal(AesGcmSealer.Version1, sealedBytes[0]);
        Assert.Equal(1 + 12 + Plaintext.Length + 16, sealedBytes.Length);
        Assert.Equal(Plaintext, AesGcmSealer.Open(Key, sealedBytes, AssociatedData.ForContent(Patient)));
    }

    [Fact]
    public void Every_byte_is_authenticated()
    {
        var sealedBytes = AesGcmSealer.Seal(Key, Plaintext, AssociatedData.ForContent(Patient));

        for (var i = 0; i < sealedBytes.Length; i++)
        {
            var tampered = (byte[])sealedBytes.Clone();
            tampered[i] ^= 0x80;
            Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(Key, tampered, AssociatedData.ForContent(Patient)));
        }
    }

    [Fact]
    public void Opening_needs_the_same_key_patient_and_purpose()
    {
        var sealedBytes = AesGcmSealer.Seal(Key, Plaintext, AssociatedData.ForContent(Patient));

        Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(RandomNumberGenerator.GetBytes(32), sealedBytes, AssociatedData.ForContent(Patient)));
        Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(Key, sealedBytes, AssociatedData.ForContent(Guid.NewGuid())));
        Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(Key, sealedBytes, AssociatedData.ForDataKey(Patient)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AQID")]
    public void Malformed_ciphertext_is_a_cryptographic_error(string text) =>
        Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(Key, AesGcmSealer.FromBase64(text), AssociatedData.ForContent(Patient)));

    [Fact]
    public void An_unknown_format_version_is_refused()
    {
        var sealedBytes = AesGcmSealer.Seal(Key, Plaintext, AssociatedData.ForContent(Patient));
        sealedBytes[0] = 2;

        var error = Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Open(Key, sealedBytes, AssociatedData.ForContent(Patient)));
        Assert.Contains("format", error.Message);
    }

    [Fact]
    public void Only_256_bit_keys_are_accepted() =>
        Assert.ThrowsAny<CryptographicException>(() => AesGcmSealer.Seal(new byte[16], Plaintext, []));

    [Fact]
    public void Empty_plaintext_round_trips() =>
        Assert.Empty(AesGcmSealer.Open(Key, AesGcmSealer.FromBase64(AesGcmSealer.SealToBase64(Key, [], [])), []));
}
