namespace HealthEvents.Application.Ports;

/// <summary>What became of an Idempotency-Key when a request claimed it.</summary>
public abstract record IdempotencyClaim
{
    /// <summary>
    /// The request runs, then its response is recorded with <see cref="IIdempotencyStore.CompleteAsync"/>.
    /// <paramref name="Nonce"/> is drawn when the key is first claimed and kept until the key expires: with the caller and
    /// the key it names the command, so every attempt of one request is one command and a key reused after it expired
    /// names a new one. <paramref name="EarlierAttempt"/>: an attempt before this one ran without an answer (it failed,
    /// or its node died), so its events may be stored already.
    /// </summary>
    public sealed record Claimed(Guid Nonce, bool EarlierAttempt) : IdempotencyClaim;

    /// <summary>An exact retry of a finished request: answer with what it answered.</summary>
    public sealed record Replay(int Status, string? ContentType, byte[] Body) : IdempotencyClaim;

    /// <summary>The key was used for another request (method, path or body differ).</summary>
    public sealed record Mismatch : IdempotencyClaim;

    /// <summary>The first request with this key is still running.</summary>
    public sealed record InProgress : IdempotencyClaim;
}

/// <summary>
/// Idempotency keys as the HTTP Idempotency-Key header draft (IETF httpapi) describes them: per caller, a key names one
/// request (method, path, body — by its SHA-256 fingerprint); the first response is kept and an exact retry gets it
/// again, while the key reused for another request is refused. Keys are kept for <c>retention</c> (a day).
/// </summary>
public interface IIdempotencyStore
{
    Task<IdempotencyClaim> ClaimAsync(string caller, Guid key, byte[] fingerprint, CancellationToken ct);

    /// <summary>Keeps the answer for exact retries — even when a slow first request's claim lapsed meanwhile.</summary>
    Task CompleteAsync(string caller, Guid key, byte[] fingerprint, int status, string? contentType, byte[] body, CancellationToken ct);

    /// <summary>
    /// Gives the key back (the request failed without an answer worth keeping: a retry runs it again, as the same
    /// command, knowing that this attempt may have stored its events).
    /// </summary>
    Task ReleaseAsync(string caller, Guid key, CancellationToken ct);
}
