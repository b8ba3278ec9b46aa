using System.Security.Claims;
using HealthEvents.Domain.Common;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HealthEvents.Infrastructure.Identity;

/// <summary>The claims of a HealthEvents bearer token, issued by a hospital's identity key.</summary>
public static class Tokens
{
    public const string Audience = "healthevents";
    public const string RoleClaim = "role";
    public const string HospitalClaim = "hospital";
    public const string PatientIdClaim = "patient_id";

    /// <summary>An ES256 JWT signed by <paramref name="hospitalId"/>'s identity key from the keyring.</summary>
    public static string Mint(HospitalKeyring keyring, string hospitalId, string subject, Role role, Guid? patientId, TimeSpan lifetime, DateTimeOffset now)
    {
        using var key = keyring.Get(hospitalId, HospitalKeyUse.Identity);
        // No provider cache: it would keep this (disposed) key object for the next token with the same kid.
        var securityKey = new ECDsaSecurityKey(key)
        {
            KeyId = PublicKeys.KeyId(key),
            CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false },
        };
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = subject,
            [RoleClaim] = KebabCase.Of(role),
            [HospitalClaim] = hospitalId,
        };
        if (patientId is { } id) claims[PatientIdClaim] = id.ToString();
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = hospitalId,
            Audience = Audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime, // validation allows for clock skew; the lifetime is exp - nbf
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(securityKey, SecurityAlgorithms.EcdsaSha256),
        });
    }

    /// <summary>
    /// When a validated token is valid: from its not-before (else issued-at) to its expiry, whole seconds; null
    /// when it has no start or no expiry.
    /// </summary>
    public static Application.Commands.CredentialPeriod? PeriodOf(ClaimsPrincipal principal)
    {
        static DateTimeOffset? Seconds(string? value) =>
            long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var s)
            && s is > 0 and < 253402300800 ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
        var start = Seconds(principal.FindFirstValue(JwtRegisteredClaimNames.Nbf)) ?? Seconds(principal.FindFirstValue(JwtRegisteredClaimNames.Iat));
        var expires = Seconds(principal.FindFirstValue(JwtRegisteredClaimNames.Exp));
        return start is { } from && expires is { } until && until > from ? new(from, until) : null;
    }

    /// <summary>The actor a validated principal stands for, or null when its claims are incomplete.</summary>
    public static Actor? ActorOf(ClaimsPrincipal principal)
    {
        var subject = principal.FindFirstValue(JwtRegisteredClaimNames.Sub) ?? principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var hospital = principal.FindFirstValue(HospitalClaim);
        // Exactly one role: a token naming several (an array) is refused, not read as its first.
        var roles = principal.FindAll(RoleClaim).Concat(principal.FindAll(ClaimTypes.Role)).Select(c => c.Value).Distinct().ToList();
        var roleText = roles.Count == 1 ? roles[0] : null;
        if (subject is null || hospital is null || roleText is null || !KebabCase.TryParse<Role>(roleText, out var role)) return null;
        Guid? patientId = Guid.TryParse(principal.FindFirstValue(PatientIdClaim), out var p) ? p : null;
        if (role == Role.Patient && patientId is null) return null;
        return new Actor(subject, role, hospital, patientId);
    }
}
