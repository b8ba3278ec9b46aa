using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// What --help shows besides System.CommandLine's usage, arguments and options: the exit codes a verb can end with,
/// and, for the serving verbs, how further configuration is passed.
/// </summary>
public static class VerbHelp
{
    private sealed record Sections(IReadOnlyList<(int Code, string Meaning)> ExitCodes, IReadOnlyList<string> Notes);

    private static readonly ConditionalWeakTable<Command, Sections> ByCommand = new();

    /// <summary>Declares the exit codes of <paramref name="command"/> for its --help (see <see cref="Verbs.ExitCodes"/>).</summary>
    public static T WithExitCodes<T>(this T command, params (int Code, string Meaning)[] codes) where T : Command
    {
        var notes = ByCommand.TryGetValue(command, out var known) ? known.Notes : [];
        ByCommand.AddOrUpdate(command, new Sections(codes, notes));
        return command;
    }

    /// <summary>Adds a paragraph after the options in <paramref name="command"/>'s --help.</summary>
    public static T WithNote<T>(this T command, string note) where T : Command
    {
        var known = ByCommand.TryGetValue(command, out var s) ? s : new Sections([], []);
        ByCommand.AddOrUpdate(command, known with { Notes = [.. known.Notes, note] });
        return command;
    }

    /// <summary>Makes the help of <paramref name="root"/> and every verb under it show those sections.</summary>
    public static void Install(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new WithSections((HelpAction)help.Action!);
    }

    /// <summary>System.CommandLine's help, then the command's notes and exit codes (its help builder is not public).</summary>
    private sealed class WithSections(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            // A verb that passes settings on (serve, endorser) would show "[[--] <additional arguments>...]]" and "Arguments
            // passed to the application that is being run": not what they are. Help ends the process, so the flag is
            // lifted for its duration only; the Settings note says what such arguments are.
            var command = parseResult.CommandResult.Command;
            var passesOn = command.TreatUnmatchedTokensAsErrors;
            command.TreatUnmatchedTokensAsErrors = true;
            int result;
            try { result = standard.Invoke(parseResult); }
            finally { command.TreatUnmatchedTokensAsErrors = passesOn; }
            if (!ByCommand.TryGetValue(command, out var sections)) return result;
            var output = parseResult.InvocationConfiguration.Output;
            foreach (var note in sections.Notes)
            {
                output.WriteLine(note);
                output.WriteLine();
            }
            if (sections.ExitCodes.Count > 0)
            {
                output.WriteLine("Exit codes:");
                foreach (var (code, meaning) in sections.ExitCodes) output.WriteLine($"  {code,-5}{meaning}");
                output.WriteLine();
            }
            return result;
        }
    }
}
