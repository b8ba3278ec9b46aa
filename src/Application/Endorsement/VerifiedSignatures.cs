using System.Collections.Concurrent;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// The signatures one batch has already had verified, so that a signature many of its transactions share (the
/// submitter's over the batch, a hospital's over its callers' assertions) costs one verification, not one each.
/// Lives for one batch only; safe to use from the batch's transactions judged in parallel.
/// </summary>
public sealed class VerifiedSignatures
{
    private readonly ConcurrentDictionary<(string Key, string Message, string Signature), bool> _outcomes = new();

    /// <summary><see cref="EndorsementSignatures.Verify"/>, remembered for this (key, message, signature).</summary>
    public bool Verify(string publicKeyBase64Spki, byte[] message, byte[]? signature) =>
        message is not null && signature is not null
        && _outcomes.GetOrAdd((publicKeyBase64Spki ?? "", Convert.ToBase64String(message), Convert.ToBase64String(signature)),
            k => EndorsementSignatures.Verify(k.Key, message, signature));
}
