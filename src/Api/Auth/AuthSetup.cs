using System.Collections.Concurrent;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HealthEvents.Api.Auth;

/// <summary>
/// Bearer tokens are ES256 JWTs signed by the caller's hospital identity key, validated by the standard JwtBearer
/// handler against the keys registered in the network stream. A token is accepted only if:
/// <list type="bullet">
/// <item>its issuer is a member this node acts for (holds the identity key of: only then can the node vouch for
/// the caller to the endorsers), and it is signed by that member's current identity key;</item>
/// <item>it speaks for the issuing hospital only;</item>
/// <item>it is short-lived: issued-at or not-before and an expiry, no more than HealthEvents:Auth:MaxTokenLifetime apart
/// (default a day);</item>
/// <item>its subject is registered in the network with the role it claims — or, for a patient, is a registered
/// patient whose home hospital issued the token: no other member speaks for someone it does not represent.</item>
/// </list>
/// Every refusal is a 401, the same for an unknown patient as for another hospital's, so a token reveals nothing.
/// </summary>
public static class AuthSetup
{
    /// <summary>The longest a token may be valid: the same bound every endorser puts on a caller's credential.</summary>
    public static TimeSpan MaxTokenLifetime(IConfiguration configuration) =>
        Infrastructure.Endorsement.EndorsementSetup.Options(configuration).MaxCredentialLifetime;

    public static IServiceCollection AddHealthEventsAuth(this IServiceCollection services)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<NetworkDirectory, INodeIdentity, IConfiguration>((o, directory, node, configuration) =>
            {
                var keys = new ConcurrentDictionary<string, SecurityKey>();
                var maxLifetime = MaxTokenLifetime(configuration);
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidAudience = Tokens.Audience,
                    ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                    NameClaimType = JwtRegisteredClaimNames.Sub,
                    RoleClaimType = Tokens.RoleClaim,
                    ClockSkew = TimeSpan.FromMinutes(1),
                    RequireExpirationTime = true,
                    IssuerValidator = (issuer, _, _) => directory.Current.IsMember(issuer) && node.ActsFor(issuer)
                        ? issuer
                        : throw new SecurityTokenInvalidIssuerException("The token's issuer is not a member hospital this node acts for."),
                    IssuerSigningKeyResolver = (_, token, kid, _) =>
                        CurrentIdentityKey(directory.Current, token.Issuer, kid) is { } publicKey
                            ? [keys.GetOrAdd(publicKey, pk => new ECDsaSecurityKey(PublicKeys.Import(pk)) { KeyId = kid })]
                            : [],
                };
                o.Events = new JwtBearerEvents
                {
                    OnTokenValidated = async context =>
                    {
                        if (Tokens.ActorOf(context.Principal!) is not { } actor)
                            context.Fail("The token lacks subject, role, hospital or patient id.");
                        else if (context.SecurityToken.Issuer != actor.Hospital)
                            context.Fail("A hospital may only issue tokens for itself.");
                        else if (Tokens.PeriodOf(context.Principal!) is not { } period || period.Lifetime > maxLifetime)
                            context.Fail($"A token is valid for at most {maxLifetime.TotalHours:0.#} h.");
                        else if (!await IsRegisteredAsync(context.HttpContext.RequestServices, directory.Current, actor, context.HttpContext.RequestAborted))
                            context.Fail("The subject is not registered in the network with this role.");
                    },
                };
            });
        services.AddAuthorization();
        return services;
    }

    private static string? CurrentIdentityKey(NetworkState network, string issuer, string kid) =>
        network.KeyAt(issuer, KeyUse.Identity, DateTimeOffset.UtcNow) is { } key && key.KeyId == kid ? key.PublicKey : null;

    private static async Task<bool> IsRegisteredAsync(IServiceProvider services, NetworkState network, Actor actor, CancellationToken ct) =>
        network.RegistrationProblem(actor) is null
        && (actor.Role != Role.Patient || await services.GetRequiredService<PatientDirectory>().IsThePatientAsync(actor, ct));
}
