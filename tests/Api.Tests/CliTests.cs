using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;

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
        // Settings are explained by the note of the verbs that take them, not as "additional arguments" of nobody knows what.
        Assert.DoesNotContain("additional arguments", help.Stdout, StringComparison.OrdinalIgnoreCase);
        if (verb is "import" or "verify" or "rebuild")
        {
            Assert.Contains("  3    ", help.Stdout, StringComparison.Ordinal);
            Assert.Contains("  130  interrupted", help.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Help_of_role_options_lists_the_roles()
    {
        foreach (var verb in (string[])["token", "import"])
        {
            var help = await ServiceProcess.RunAsync(Nowhere, EmptyData(), verb, "--help");
            Assert.Contains("physician, nurse, home-care, pharmacist, admin, researcher, patient", help.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Help_without_a_verb_lists_the_verbs()
    {
        var help = await ServiceProcess.RunAsync(Nowhere, EmptyData(), "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var verb in (string[])["serve", "token", "verify", "rebuild", "endorser"]) Assert.Contains($"  {verb}", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("  1    the work found a problem", help.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"Usage:\n  \S+ \[command\] \[options\]\n", help.Stdout.Replace("\r", ""));
        Assert.DoesNotContain("additional arguments", help.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Arguments passed to the application", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("Settings: besides the options above, any --Section:Key=value", help.Stdout, StringComparison.Ordinal);
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
    [InlineData("import", "bundle.json", "--hospital", "northside", "--url", "http//127.0.0.1:5080")] // malformed
    [InlineData("import", "bundle.json", "--hospital", "northside", "--url", "ftp://127.0.0.1/")] // not the service's scheme
    [InlineData("import", "no-such-bundle.json", "--hospital", "northside")] // nothing at the path
    public async Task A_wrong_command_line_exits_2_with_the_reason_and_does_nothing(params string[] args)
    {
        var environment = EmptyData();
        var run = await ServiceProcess.RunAsync(Nowhere, environment, args);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.NotEqual("", run.Stderr.Trim());
        Assert.False(Directory.Exists(environment[Hosting.DataFolder.Variable]), "a wrong command line made the data folder");
    }

    [Theory]
    [InlineData("verify", false)]
    [InlineData("verify", true)]
    [InlineData("rebuild", false)]
    [InlineData("rebuild", true)]
    public async Task A_verb_that_reads_existing_data_finds_none_exits_3_and_creates_nothing(string verb, bool folderExists)
    {
        var environment = EmptyData();
        var folder = environment[Hosting.DataFolder.Variable]!;
        if (folderExists) Directory.CreateDirectory(folder);
        try
        {
            var run = await ServiceProcess.RunAsync(Nowhere, environment, verb);
            Assert.True(run.ExitCode == 3, run.Stderr + run.Stdout);
            Assert.Equal("", run.Stdout);
            Assert.Contains(folderExists ? $"No database in the data folder {folder}" : $"No data folder at {folder}", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("start it once (./run.sh), or pass --data", run.Stderr, StringComparison.Ordinal);
            // Neither a cluster nor keys: the folder is as it was.
            Assert.Equal(folderExists, Directory.Exists(folder));
            if (folderExists) Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Verify_of_a_database_where_no_network_was_founded_exits_3()
    {
        var folder = Directory.CreateTempSubdirectory("he-cli-").FullName;
        try
        {
            var run = await ServiceProcess.RunAsync(Nowhere, new Dictionary<string, string?>
            {
                [Hosting.DataFolder.Variable] = folder,
                ["ConnectionStrings__Postgres"] = await TestPostgres.CreateDatabaseAsync(), // a server, but nothing ever recorded there
                ["Encryption__KeyEncryptionKey"] = Convert.ToBase64String(new byte[32]),
            }, "verify");
            Assert.True(run.ExitCode == 3, run.Stderr + run.Stdout);
            Assert.Equal("", run.Stdout);
            Assert.Contains("The store holds no network (no genesis)", run.Stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_on_an_address_in_use_exits_3_with_one_line_on_stderr_and_stops_its_PostgreSQL()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var address = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}";
        var environment = EmptyData();
        var folder = environment[Hosting.DataFolder.Variable]!;
        environment["Logging__LogLevel__Default"] = "Information";
        try
        {
            var run = await ServiceProcess.RunAsync(Nowhere, environment, "serve", "--urls", address, "--HealthEvents:SeedDemo=false");

            Assert.True(run.ExitCode == 3, run.Stderr + run.Stdout);
            Assert.Contains($"serve failed: IOException: Failed to bind to address {address}: address already in use.", run.Stderr, StringComparison.Ordinal);
            // Said once, as one line: no "fail:" log with the host's stack trace, on either stream.
            Assert.DoesNotContain("Hosting failed to start", run.Stdout + run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Stdout + run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("fail:", run.Stdout, StringComparison.Ordinal);
            // Information went to standard output as before (the service did get that far).
            Assert.Contains("info: ", run.Stdout, StringComparison.Ordinal);
            var cluster = ClusterFolder.Existing(folder);
            Assert.NotNull(cluster);
            Assert.False(File.Exists(Path.Combine(cluster, "postmaster.pid")), "the private PostgreSQL was left running");
        }
        finally
        {
            if (ClusterFolder.Existing(folder) is { } cluster && !cluster.StartsWith(folder, StringComparison.Ordinal)) Directory.Delete(cluster, recursive: true);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
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
