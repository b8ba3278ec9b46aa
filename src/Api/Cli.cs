using System.CommandLine;
using System.CommandLine.Invocation;
using HealthEvents.Api.Verbs;

namespace HealthEvents.Api;

/// <summary>
/// The service's one executable (`./run.sh [VERB] [options]`, System.CommandLine): serving is the default; every verb
/// and option has --help; the exit codes are <see cref="ExitCodes"/>, the same for all verbs.
/// </summary>
public static class Cli
{
    /// <summary>
    /// How long a one-off verb gets to wind down after Ctrl+C (stop its private PostgreSQL) before the process ends.
    /// Serving verbs handle the signal themselves (the host's graceful shutdown).
    /// </summary>
    private static readonly TimeSpan WindDown = TimeSpan.FromSeconds(30);

    /// <summary>The command that starts this executable, as help and errors name it: ./run.sh sets it to itself.</summary>
    private static string Name => Environment.GetEnvironmentVariable("HEALTHEVENTS_CLI_NAME") is { Length: > 0 } name ? name : "HealthEvents.Api";

    public static RootCommand Create()
    {
        var data = DataOption.Create();
        var root = new RootCommand("HealthEvents: hospitals share patient health data through one verifiable, endorsed event history.")
        {
            data,
        };
        root.HelpName = Name;
        var serve = ServeVerb.Create(root, data);
        root.Add(serve);
        root.Add(TokenVerb.Create(data));
        root.Add(VerifyVerb.Create(data));
        root.Add(RebuildVerb.Create(data));
        root.Add(EndorserVerb.Create(data));
        root.Add(ImportVerb.Create(data));
        // New verbs go here, built the same way (a Verbs/<Name>Verb.cs with its options and exit codes).
        root.WithNote(SettingArguments.HelpNote).WithExitCodes(
            (ExitCodes.Ok, "done (serving: stopped cleanly)"),
            (ExitCodes.Problems, "the work found a problem (verify: the store does NOT verify)"),
            ExitCodes.UsageLine, ExitCodes.FailedLine, ExitCodes.InterruptedLine);
        VerbHelp.Install(root);
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = Create().Parse(args);
        // The root passes unknown tokens on as settings (see ServeVerb), and System.CommandLine then lets every verb
        // under it do so: the verbs that take no settings refuse them here.
        var unexpected = parsed.CommandResult.Command.TreatUnmatchedTokensAsErrors && parsed.UnmatchedTokens.Count > 0;
        if (parsed.Action is ParseErrorAction || unexpected)
        {
            foreach (var error in parsed.Errors) await Console.Error.WriteLineAsync(error.Message);
            if (unexpected) await Console.Error.WriteLineAsync($"Unrecognized: {string.Join(' ', parsed.UnmatchedTokens)}");
            await Console.Error.WriteLineAsync($"See '{VerbName(parsed)} --help'.");
            return ExitCodes.Usage;
        }
        var serving = parsed.CommandResult.Command is RootCommand || parsed.CommandResult.Command.Name is "serve" or "endorser";
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = serving ? null : WindDown,
            });
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("Interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            // Type and message only: the operator needs what failed, not a stack trace of the host's start-up.
            await Console.Error.WriteLineAsync($"{VerbName(parsed)} failed: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    private static string VerbName(ParseResult parsed) =>
        parsed.CommandResult.Command is RootCommand ? Name : $"{Name} {parsed.CommandResult.Command.Name}";
}
