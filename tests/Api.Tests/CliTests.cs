using System.CommandLine;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The executable's command line as an operator meets it: every verb and option explains itself in --help, with the
/// exit codes; a wrong command line does nothing, says what is wrong on standard error and exits 2.
/// </summary>
public sealed class CliTests
{
    private static readonly string Nowhere = Path.GetTempPath();

    /// <summary>A folder with no keys and no database: what a verb finds before the service has ever run.</summary>
    private static Dictionary<string, string?> EmptyData() => new()
    {
        [Hosting.DataFolder.Variable] = Path.Combine(Path.GetTempPath(), "he-cli-" + Guid.NewGuid().ToString("N")),
        ["ConnectionStrings__Postgres"] = null,
    };

    public static TheoryData<string> Verbs() => [.. Cli.Create().Subcommands.Select(c => c.Name)];

    [Fact]
    public void Every_verb_option_and_argument_has_a_description()
    {
        var root = Cli.Create();
        var undescribed = root.Subcommands.Prepend(root)
            .SelectMany(c => c.Options.Cast<Symbol>().Concat(c.Arguments).Prepend(c))
            .Where(s => string.IsNullOrWhiteSpace(s.Description))
            .Select(s => s.Name)
            .ToList();
        Assert.Empty(undescribed);
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_of_each_verb_lists_its_options_and_exit_codes(string verb)
    {
        var help = await ServiceProcess.RunAsync(Nowhere, EmptyData(), verb, "--help");
        Assert.Equal(0, help.ExitCode);
        var command = Cli.Create().Subcommands.Single(c => c.Name == verb);
        foreach (var option in command.Options) Assert.Contains(option.Name, help.Stdout, StringComparison.Ordinal);
        Assert.Contains("--data", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("  2    wrong command line", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_without_a_verb_lists_the_verbs()
    {
        var help = await ServiceProcess.RunAsync(Nowhere, EmptyData(), "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var verb in (string[])["serve", "token", "verify", "rebuild", "endorser"]) Assert.Contains($"  {verb}", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("  1    the work found a problem", help.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("toekn")] // a verb mistyped would otherwise start the service
    [InlineData("token", "--hospital", "northside", "--role", "physician")] // --subject missing
    [InlineData("token", "--hospital", "northside", "--role", "doctor", "--subject", "x")]
    [InlineData("token", "--hospital", "northside", "--role", "patient", "--subject", "x")] // a patient token names the patient
    [InlineData("token", "--hospital", "northside", "--role", "patient", "--subject", "x", "--patient", "not-a-uuid")]
    [InlineData("token", "--hospital", "northside", "--role", "nurse", "--subject", "x", "--hours", "0")]
    [InlineData("token", "--hospital", "northside", "--role", "nurse", "--subject", "x", "--hours", "25")] // past the longest lifetime
    [InlineData("verify", "--fast")]
    [InlineData("endorser", "--urls", "http://127.0.0.1:1")] // --hospital missing
    [InlineData("serve", "--HealthEvents:SeedDemo")] // a setting without its value
    public async Task A_wrong_command_line_exits_2_with_the_reason_and_does_nothing(params string[] args)
    {
        var environment = EmptyData();
        var run = await ServiceProcess.RunAsync(Nowhere, environment, args);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.NotEqual("", run.Stderr.Trim());
        Assert.False(Directory.Exists(environment[Hosting.DataFolder.Variable]), "a wrong command line made the data folder");
    }

    [Fact]
    public async Task Token_before_the_network_exists_exits_3_and_says_how_to_found_it()
    {
        var run = await ServiceProcess.RunAsync(Nowhere, EmptyData(), "token", "--hospital", "northside", "--role", "physician", "--subject", "northside-physician");
        Assert.Equal(3, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("start the service once", run.Stderr, StringComparison.Ordinal);
    }
}
