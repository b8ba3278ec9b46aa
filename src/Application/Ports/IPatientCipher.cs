namespace HealthEvents.Application.Ports;

/// <summary>
/// Encrypts clinical content and demographics under the patient's own data key (AES-256-GCM),
/// so forgetting the patient — destroying that key — makes the content unreadable everywhere
/// while the hash chain over the ciphertext still verifies.
/// </summary>
public interface IPatientCipher
{
    /// <summary>
    /// Ciphertext as a self-describing base64 string; creates the patient's key on first use. Throws
    /// <see cref="PatientForgottenException"/> once the key was destroyed.
    /// </summary>
    Task<string> EncryptAsync(Guid patientId, string plaintext, CancellationToken ct = default);

    /// <summary>The plaintext, or null when the patient's key has been destroyed (forgotten).</summary>
    Task<string?> DecryptAsync(Guid patientId, string ciphertext, CancellationToken ct = default);

    /// <summary>Destroys the patient's data key. Idempotent.</summary>
    Task ForgetAsync(Guid patientId, CancellationToken ct = default);
}

/// <summary>
/// Content cannot be encrypted for a patient whose data key was destroyed: a forgotten patient stays
/// forgotten. Carries no patient id or content, so it can be logged as is.
/// </summary>
public sealed class PatientForgottenException()
    : InvalidOperationException("The patient has been forgotten: their data key was destroyed, so no content can be encrypted for them.");
