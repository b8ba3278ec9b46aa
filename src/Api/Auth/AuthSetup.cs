using System.Collections.Concurrent;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HealthEvents.Api.Auth;

/// <summary>
/// Bearer tokens are ES256 JWTs signed by the caller's hospital identity key, validated by the
/// standard JwtBearer handler against the keys registered in the network stream. A token is accepted
/// only if its issuer is a member, it is signed by that member's current identity key, it speaks for
/// that hospital only, and its subject is registered in the network with the role it claims.
/// </summary>
public static class AuthSetup
{
    public static IServiceCollection AddHealthEventsAuth(this IServiceCollection services)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<NetworkDirectory>((o, directory) =>
            {
                var keys = new ConcurrentDictionary<string, SecurityKey>();
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidAudience = Tokens.Audience,
                    ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                    NameClaimType = JwtRegisteredClaimNames.Sub,
                    RoleClaimType = Tokens.RoleClaim,
                    ClockSkew = TimeSpan.FromMinutes(1),
                    RequireExpirationTime = true,
                    IssuerValidator = (issuer, _, _) => directory.Current.IsMember(issuer)
                        ? issuer
                        : throw new SecurityTokenInvalidIssuerException("The token's issuer is not a member hospital."),
                    IssuerSigningKeyResolver = (_, token, kid, _) =>
                        CurrentIdentityKey(directory.Current, token.Issuer, kid) is { } publicKey
                            ? [keys.GetOrAdd(publicKey, pk => new ECDsaSecurityKey(PublicKeys.Import(pk)) { KeyId = kid })]
                            : [],
                };
                o.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        if (Tokens.ActorOf(context.Principal!) is not { } actor)
                            context.Fail("The token lacks subject, role, hospital or patient id.");
                        else if (context.SecurityToken.Issuer != actor.Hospital)
                            context.Fail("A hospital may only issue tokens for itself.");
                        else if (!IsRegistered(directory.Current, actor))
                            context.Fail("The subject is not registered in the network with this role.");
                        return Task.CompletedTask;
                    },
                };
            });
        services.AddAuthorization();
        return services;
    }

    private static string? CurrentIdentityKey(NetworkState network, string issuer, string kid) =>
        network.KeyAt(issuer, KeyUse.Identity, DateTimeOffset.UtcNow) is { } key && key.KeyId == kid ? key.PublicKey : null;

    private static bool IsRegistered(NetworkState network, Actor actor) => actor.Role switch
    {
        Role.Patient => true,
        Role.Researcher => network.Researchers.ContainsKey(actor.Id),
        _ => network.Practitioners.TryGetValue(actor.Id, out var p) && p.HospitalId == actor.Hospital && p.Role == actor.Role,
    };
}
