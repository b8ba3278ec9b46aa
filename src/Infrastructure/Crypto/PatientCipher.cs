using System.Text;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// Clinical content under the patient's own data key: AES-256-GCM, bound to the patient id, in the
/// self-describing base64 form of <see cref="AesGcmSealer"/>. Forgetting destroys the key, after which
/// content reads as null everywhere while the hash chain over the ciphertext still verifies.
/// </summary>
public sealed class PatientCipher(IDataKeyStore keys) : IPatientCipher
{
    public async Task<string> EncryptAsync(Guid patientId, string plaintext, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var key = await keys.GetOrCreateAsync(patientId, ct);
        return AesGcmSealer.SealToBase64(key, Encoding.UTF8.GetBytes(plaintext), AssociatedData.ForContent(patientId));
    }

    /// <summary>
    /// The plaintext, or null once the patient is forgotten. Throws <see cref="System.Security.Cryptography.CryptographicException"/>
    /// when the ciphertext is malformed, altered, bound to another patient, or no key was ever created for this one.
    /// </summary>
    public async Task<string?> DecryptAsync(Guid patientId, string ciphertext, CancellationToken ct = default)
    {
        var sealedBytes = AesGcmSealer.FromBase64(ciphertext);
        var lookup = await keys.FindAsync(patientId, ct);
        return lookup.Status switch
        {
            DataKeyStatus.Destroyed => null,
            DataKeyStatus.Active => Encoding.UTF8.GetString(AesGcmSealer.Open(lookup.Key, sealedBytes, AssociatedData.ForContent(patientId))),
            _ => throw new System.Security.Cryptography.CryptographicException("There is no data key for this patient: the ciphertext is not theirs."),
        };
    }

    public Task ForgetAsync(Guid patientId, CancellationToken ct = default) => keys.DestroyAsync(patientId, ct);
}
