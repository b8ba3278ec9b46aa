using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>
/// A hospital's admin rotates one of its own keys: this node makes the new key pair, the network records its public
/// half (endorsed like any network change), and it takes effect at once (the command's time). Signatures made before
/// stay checkable against the old key; from then on the new one signs. (The domain allows a later effective time; the
/// API does not offer it, since this node's tokens would be signed with a key the network does not yet accept.)
/// </summary>
/// <param name="Use">identity (signs tokens, proposals and caller credentials) or endorsement (signs transactions).</param>
public sealed record RotateHospitalKeyCommand(string HospitalId, string Use, CommandContext Context)
    : IRequest<KeyRotatedResult>;

public sealed record KeyRotatedResult(string HospitalId, string Use, string KeyId, DateTimeOffset EffectiveFrom, Receipt Receipt);

public sealed class RotateHospitalKeyValidator : AbstractValidator<RotateHospitalKeyCommand>
{
    public RotateHospitalKeyValidator()
    {
        RuleFor(c => c.HospitalId).NotEmpty().MaximumLength(100);
        RuleFor(c => c.Use).OneOf<RotateHospitalKeyCommand, KeyUse>();
    }
}

public sealed class RotateHospitalKeyHandler(NetworkStream network, NetworkDirectory directory, IHospitalKeyStore keys, IClock clock)
    : IRequestHandler<RotateHospitalKeyCommand, KeyRotatedResult>
{
    public async ValueTask<KeyRotatedResult> Handle(RotateHospitalKeyCommand c, CancellationToken ct)
    {
        var use = ValidationRules.Parse<KeyUse>(c.Use);
        // Only the hospital's own admin, decided before a key is made (the decider says so again, as do the endorsers).
        if (!string.Equals(c.Context.Actor.Hospital, c.HospitalId, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-hospital-admin", "Only an admin of this hospital may rotate its keys.");
        if (!keys.Holds(c.HospitalId, use))
            throw RejectedException.Conflict("key-not-held",
                $"This node does not hold the hospital's {KebabCase.Of(use)} key; rotate it on the node that does (an endorser node keeps its own).");
        // Judged before a key is made, so a refused rotation leaves no key behind.
        var now = clock.UtcNow;
        NetworkDecider.Decide(new RotateHospitalKey(c.HospitalId, use, "pending", "pending", now, c.Context.Actor, now), directory.Current);
        var (keyId, publicKey) = keys.CreateNext(c.HospitalId, use);
        DateTimeOffset effective = default;
        var result = await network.ExecuteAsync(at =>
        {
            effective = at;
            return new RotateHospitalKey(c.HospitalId, use, keyId, publicKey, at, c.Context.Actor, at);
        }, c.Context, ct);
        keys.MakeCurrent(c.HospitalId, use, keyId);
        return new(c.HospitalId, KebabCase.Of(use), keyId, effective, result.Receipt);
    }
}
