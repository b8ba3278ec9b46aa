using System.Text.RegularExpressions;
using FluentValidation;
using FluentValidation.Results;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Api.Auth;

/// <summary>
/// The patient's signature of a consent change or a forgetting, sent beside the request: the header
/// <c>Patient-Signature: keyid="&lt;key id&gt;", created=&lt;Unix seconds&gt;, sig=:&lt;base64 P1363 signature&gt;:</c>,
/// an RFC 8941 dictionary (a string, an integer and a byte sequence, in any order, each once; parameters of
/// RFC 9421's Signature-Input spelt the same way). What is signed is the command's statement (PatientStatements);
/// the decider, and so every endorser, verifies it. Absent: the command is unsigned (refused once a device key is enrolled).
/// </summary>
public static partial class PatientSignatureHeader
{
    public const string Name = "Patient-Signature";

    /// <summary>The signature the request carries, null when it carries none; a malformed header is a 400 naming it.</summary>
    public static PatientSignature? PatientSignature(this HttpContext http)
    {
        var values = http.Request.Headers[Name];
        if (values.Count == 0) return null;
        if (values.Count == 1 && TryParse(values[0], out var signature)) return signature;
        throw new ValidationException([new ValidationFailure(Name,
            "Patient-Signature is keyid=\"<key id>\", created=<Unix seconds>, sig=:<base64 signature>: (RFC 8941), once.")]);
    }

    public static bool TryParse(string? text, out PatientSignature signature)
    {
        signature = null!;
        string? keyId = null, sig = null;
        long? created = null;
        foreach (var member in (text ?? "").Split(','))
        {
            var m = Member().Match(member);
            if (!m.Success) return false;
            var value = m.Groups["value"].Value;
            switch (m.Groups["name"].Value)
            {
                case "keyid" when keyId is null && value is ['"', .. var id, '"']: keyId = id; break;
                case "created" when created is null && long.TryParse(value, out var seconds) && seconds is >= 0 and <= 253402300799: created = seconds; break;
                case "sig" when sig is null && value is [':', .. var bytes, ':']: sig = bytes; break;
                default: return false;
            }
        }
        if (keyId is null || created is null || sig is null) return false;
        signature = new PatientSignature(keyId, DateTimeOffset.FromUnixTimeSeconds(created.Value), sig);
        return true;
    }

    [GeneratedRegex("""^[ \t]*(?<name>[a-z]+)=(?<value>"[0-9a-zA-Z_-]{1,64}"|[0-9]{1,15}|:[A-Za-z0-9+/]{1,200}={0,2}:)[ \t]*$""")]
    private static partial Regex Member();
}
