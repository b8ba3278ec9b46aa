namespace HealthEvents.Api.Verbs;

/// <summary>
/// The serving verbs pass what they do not parse themselves to ASP.NET Core's command-line configuration, as
/// "--Section:Key=value" or "--Section:Key value" (Microsoft.Extensions.Configuration.CommandLine). Anything else —
/// a bare word where a verb was meant ("./run.sh toekn") — is a usage error rather than something silently ignored.
/// </summary>
public static class SettingArguments
{
    public const string HelpNote =
        "Settings: besides the options above, any --Section:Key=value (or --Section:Key value) sets that configuration value,\n" +
        "as appsettings.json and environment variables (Section__Key) do; e.g. --HealthEvents:SeedDemo=false.";

    /// <summary>The first token that is not a setting, or null when all are.</summary>
    public static string? FirstInvalid(IReadOnlyList<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2) return token;
            if (token.Contains('=', StringComparison.Ordinal)) continue;
            // "--Key value": the next token is the value (and may not itself be a key).
            if (i + 1 >= tokens.Count || tokens[i + 1].StartsWith("--", StringComparison.Ordinal)) return token;
            i++;
        }
        return null;
    }
}
