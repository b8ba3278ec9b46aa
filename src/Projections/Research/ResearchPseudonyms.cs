using System.Security.Cryptography;
using System.Text;

namespace HealthEvents.Projections.Research;

/// <summary>HMAC-SHA256 pseudonyms under one projection's research key: stable within the projection, unlinkable across projections.</summary>
public sealed class ResearchPseudonyms(byte[] key)
{
    public const int KeySize = 32;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>The patient's pseudonym: lowercase hex of HMAC-SHA256(key, "patient:" + id).</summary>
    public string Patient(Guid patientId) => Mac("patient:", patientId, 32);

    /// <summary>A consent's or entry's key inside a subject (128 bits: unique within one patient).</summary>
    public string Consent(Guid consentId) => Mac("consent:", consentId, 16);

    public string Entry(Guid entryId) => Mac("entry:", entryId, 16);

    private string Mac(string domain, Guid id, int bytes)
    {
        Span<byte> message = stackalloc byte[16 + 16];
        var length = Encoding.ASCII.GetBytes(domain, message);
        id.TryWriteBytes(message[length..], bigEndian: true, out var written);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, message[..(length + written)], mac);
        return Convert.ToHexStringLower(mac[..bytes]);
    }
}
