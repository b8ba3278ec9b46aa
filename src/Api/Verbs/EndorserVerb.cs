using System.CommandLine;
using HealthEvents.Api.Hosting;

namespace HealthEvents.Api.Verbs;

/// <summary>`endorser --hospital H`: one hospital's endorser node, until Ctrl+C or SIGTERM.</summary>
public static class EndorserVerb
{
    public static Command Create(Option<string?> data)
    {
        var hospital = new Option<string>("--hospital") { Description = "The hospital this node endorses for (it makes and keeps that hospital's endorsement key)", Required = true, HelpName = "id" };
        var urls = ServeVerb.UrlsOption($"Addresses to listen on, ';'-separated. Default: HEALTHEVENTS_URLS, else {EndorserApp.DefaultUrl}");
        var command = new Command("endorser", "Serve one hospital's endorser node: re-executes each proposal and signs it with the hospital's key")
        {
            hospital, urls,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async parsed =>
        {
            if (ServeVerb.HostArguments(parsed, urls, data) is not { } args) return ExitCodes.Usage;
            await using var app = await EndorserApp.BuildAsync(args, parsed.GetRequiredValue(hospital));
            await NodeHost.RunAsync(app);
            return ExitCodes.Ok;
        });
        return command.WithNote(SettingArguments.HelpNote).WithExitCodes(
            (ExitCodes.Ok, "stopped cleanly (Ctrl+C, SIGTERM)"), ExitCodes.UsageLine,
            (ExitCodes.Failed, "could not start: the message says why (the address in use, the database would not start)"));
    }
}
