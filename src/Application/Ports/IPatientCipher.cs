namespace HealthEvents.Application.Ports;

/// <summary>
/// Encrypts clinical content and demographics under the patient's own data key (AES-256-GCM),
/// so forgetting the patient — destroying that key — makes the content unreadable everywhere
/// while the hash chain over the ciphertext still verifies.
/// </summary>
public interface IPatientCipher
{
    /// <summary>Ciphertext as a self-describing base64 string; creates the patient's key on first use.</summary>
    Task<string> EncryptAsync(Guid patientId, string plaintext, CancellationToken ct = default);

    /// <summary>The plaintext, or null when the patient's key has been destroyed (forgotten).</summary>
    Task<string?> DecryptAsync(Guid patientId, string ciphertext, CancellationToken ct = default);

    /// <summary>Destroys the patient's data key. Idempotent.</summary>
    Task ForgetAsync(Guid patientId, CancellationToken ct = default);
}
