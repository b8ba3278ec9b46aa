using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>
/// Who sends a command and under which ids. The command id seeds the event ids, so a retried command maps to the
/// same events. <see cref="Credential"/> is when the caller's credential (their bearer token) is valid; null when
/// the node acts on its own (founding, ledger heads, the demo seeder), which then vouches for a few minutes only.
/// <see cref="EarlierAttempt"/>: this command id was tried before without an answer (a retry after a failure or a
/// crash), so its events may be stored already — the executor looks for them before appending.
/// </summary>
public sealed record CommandContext(
    Actor Actor, Guid CommandId, Guid CorrelationId, CredentialPeriod? Credential = null, bool EarlierAttempt = false)
{
    public static CommandContext For(Actor actor) => new(actor, Guid.NewGuid(), Guid.NewGuid());
}

/// <summary>When a caller's credential is valid: not before <see cref="NotBefore"/>, not after <see cref="Expires"/> (UTC, whole seconds, as in a JWT's nbf and exp).</summary>
public readonly record struct CredentialPeriod(DateTimeOffset NotBefore, DateTimeOffset Expires)
{
    /// <summary>How long a node vouches for its own actions around their time, with no token behind them.</summary>
    public static readonly TimeSpan NodeIssued = TimeSpan.FromMinutes(5);

    public TimeSpan Lifetime => Expires - NotBefore;

    public bool Covers(DateTimeOffset at) => NotBefore <= at && at <= Expires;

    /// <summary>The period a node issues for its own action at <paramref name="at"/>: from a minute before to five after, whole seconds.</summary>
    public static CredentialPeriod IssuedAt(DateTimeOffset at)
    {
        var from = DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds() - 60);
        return new(from, from + TimeSpan.FromMinutes(1) + NodeIssued);
    }
}
