namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// Content cannot be encrypted for a patient whose data key was destroyed: a forgotten patient stays
/// forgotten. Carries no patient id or content, so it can be logged as is.
/// </summary>
public sealed class PatientForgottenException()
    : InvalidOperationException("The patient has been forgotten: their data key was destroyed, so no content can be encrypted for them.");
