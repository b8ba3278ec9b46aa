using System.CommandLine;
using HealthEvents.Api.Hosting;

namespace HealthEvents.Api.Verbs;

/// <summary>`serve` (also what `./run.sh` does with no verb): the API node, until Ctrl+C or SIGTERM.</summary>
public static class ServeVerb
{
    /// <summary>The verb, and the same options and action for the root command (serving is the default).</summary>
    public static Command Create(RootCommand root, Option<string?> data)
    {
        var urls = UrlsOption($"Addresses to listen on, ';'-separated. Default: HEALTHEVENTS_URLS, else {HealthEventsApp.DefaultUrl}");
        var command = new Command("serve", "Serve the API and the patient's page (the default when no verb is given)") { urls };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parsed => ServeAsync(parsed, urls, data));
        command.WithNote(SettingArguments.HelpNote).WithExitCodes(
            (ExitCodes.Ok, "stopped cleanly (Ctrl+C, SIGTERM)"), ExitCodes.UsageLine,
            (ExitCodes.Failed, "could not start: the message says why (the address in use, the database would not start)"));

        root.Add(urls);
        root.TreatUnmatchedTokensAsErrors = false;
        root.Action = command.Action;
        return command;
    }

    /// <summary>--urls, as ASP.NET Core names the listening addresses.</summary>
    public static Option<string?> UrlsOption(string description) => new("--urls") { Description = description, HelpName = "urls" };

    /// <summary>The configuration arguments of a serving verb: --urls, --data and the settings passed through.</summary>
    public static string[]? HostArguments(ParseResult parsed, Option<string?> urls, Option<string?> data)
    {
        if (SettingArguments.FirstInvalid(parsed.UnmatchedTokens) is { } invalid)
        {
            Console.Error.WriteLine($"'{invalid}' is neither a verb, an option nor a setting (--Section:Key=value). See --help.");
            return null;
        }
        return [.. parsed.GetValue(urls) is { Length: > 0 } u ? ["--urls", u] : Array.Empty<string>(), .. DataOption.Settings(parsed, data), .. parsed.UnmatchedTokens];
    }

    private static async Task<int> ServeAsync(ParseResult parsed, Option<string?> urls, Option<string?> data)
    {
        if (HostArguments(parsed, urls, data) is not { } args) return ExitCodes.Usage;
        await using var app = await HealthEventsApp.BuildAsync(args);
        await NodeHost.RunAsync(app);
        return ExitCodes.Ok;
    }
}
