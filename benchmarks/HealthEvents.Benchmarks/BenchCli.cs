using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using HealthEvents.Api.Verbs;

namespace HealthEvents.Benchmarks;

/// <summary>
/// The benchmark executable's command line (System.CommandLine, built like the service's own, src/Api/Cli.cs): each
/// mode a subcommand with --help, typed options and the service's exit codes (<see cref="ExitCodes"/>). With no
/// subcommand it runs the append benchmark, as it always did.
/// </summary>
public static class BenchCli
{
    private const string Run = "dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks --";

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = Create().Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            foreach (var error in parsed.Errors) await Console.Error.WriteLineAsync(error.Message);
            await Console.Error.WriteLineAsync($"See '{parsed.CommandResult.Command.Name} --help'.");
            return ExitCodes.Usage;
        }
        // Ctrl+C and SIGTERM cancel the action's token; the benchmark then stops its services and private PostgreSQLs.
        // The signals are ours (no ProcessTerminationTimeout): System.CommandLine would end the process after its timeout,
        // whether or not they had stopped.
        using var interruption = new Interruption();
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null },
                interruption.Token);
        }
        // Work cut short does not always say so by an OperationCanceledException (Marten's bulk insert: an
        // ObjectDisposedException from its rollback): after a signal, whatever ended the run is the interruption.
        catch (Exception e) when (e is OperationCanceledException || interruption.Token.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Interrupted.");
            return ExitCodes.Interrupted;
        }
    }

    public static RootCommand Create()
    {
        var (duration, quick) = (Duration(10), Quick("2 s per case, 0.5 s warm-up"));
        var endorsement = new Option<bool>("--endorsement") { Description = "The in-process command path with 2-of-3 endorsement (batched, unbatched) vs unendorsed, instead" };
        var root = new RootCommand($"HealthEvents benchmarks (issue 13). With no subcommand: event store appends vs raw INSERTs ({Run} [options]).")
        {
            duration, quick, endorsement,
        };
        root.SetAction((p, ct) =>
        {
            var measure = Seconds(p, duration, quick, 2);
            return p.GetValue(endorsement)
                ? EndorsementBenchmark.RunAsync(measure, ct)
                : AppendBenchmark.RunAsync(measure, TimeSpan.FromSeconds(p.GetValue(quick) ? 0.5 : 2), ct);
        });
        root.Add(AllCommand.Create());
        root.Add(Http());
        root.Add(Commands());
        root.Add(History());
        root.Add(Research());
        root.Add(Proofs());
        root.Add(Fhir());
        root.Add(Esdb());
        root.Add(ProfileCommand.Create());
        root.Add(CpuCommand.Create());
        foreach (var command in root.Subcommands.Append(root))
            command.WithExitCodes(ExitCodes.OkLine, (ExitCodes.Problems, "the run found a problem (history: the store does NOT verify)"),
                ExitCodes.UsageLine, ExitCodes.FailedLine, ExitCodes.InterruptedLine);
        VerbHelp.Install(root);
        return root;
    }

    private static Command Http()
    {
        var (duration, quick) = (Duration(10), Quick("5 s per case, 1 s warm-up"));
        var command = new Command("http", "Commands over HTTP by 1 and 16 clients, with database work per command, vs pgbench INSERTs") { duration, quick };
        command.SetAction((p, ct) => HttpMode.RunAsync(Seconds(p, duration, quick, 5), TimeSpan.FromSeconds(p.GetValue(quick) ? 1 : 2), ct));
        return command;
    }

    private static Command Commands()
    {
        var (duration, quick, version) = (Duration(10), Quick("3 s per case, version 1,000"), StreamVersion());
        var command = new Command("commands", "Group commit vs one transaction per append, one busy stream, version N vs version 10") { duration, quick, version };
        command.SetAction((p, ct) => CommandsBenchmark.RunAsync(Seconds(p, duration, quick, 3), Value(p, version, quick, 1000), ct));
        return command;
    }

    private static Command History()
    {
        var (events, quick) = (Count("--events", 1_000_000, 1000, "Events in the history"), Quick("20,000 events, 200 pages"));
        var requests = Count("--requests", 1000, 10, "Audit pages requested");
        var batch = Count("--batch", 1, 1, "Transactions per signed RFC 9162 root", max: 1024);
        var command = new Command("history", "A large endorsed history: audit page vs raw SQL, whole-store verification vs P-256") { events, requests, batch, quick };
        command.SetAction((p, ct) => HistoryBenchmark.RunAsync(Value(p, events, quick, 20_000), Value(p, requests, quick, 200), p.GetValue(batch), ct));
        return command;
    }

    private static Command Research()
    {
        var (events, quick) = (Count("--events", 1_000_000, 1000, "Events in the history"), Quick("20,000 events"));
        var writers = Count("--writers", 8, 1, "Concurrent writers of the history");
        var command = new Command("research", "Research projection rebuild vs the raw read of the same events") { events, writers, quick };
        command.SetAction((p, ct) => ResearchBenchmark.RunAsync(Value(p, events, quick, 20_000), p.GetValue(writers), ct));
        return command;
    }

    private static Command Proofs()
    {
        var (leaves, quick) = (Leaves(), Quick("20,000 leaves"));
        var proofs = Count("--proofs", 200, 1, "Proofs of each kind timed");
        var command = new Command("proofs", "RFC 9162 inclusion and consistency proofs over a large ledger vs reading every leaf") { leaves, proofs, quick };
        command.SetAction((p, ct) => ProofBenchmark.RunAsync(Value(p, leaves, quick, 20_000), p.GetValue(proofs), ct));
        return command;
    }

    private static Command Fhir()
    {
        var folder = new Option<string?>("--folder") { Description = "Folder of FHIR R4 bundles (default ../shared/fhir-samples/synthea-r4)", HelpName = "path" };
        var clients = Count("--clients", 1, 1, "Concurrent importing clients", max: 16);
        var command = new Command("fhir", "FHIR bundle imports over HTTP vs the raw append of the events they stored") { folder, clients };
        command.SetAction((p, ct) => FhirImportBenchmark.RunAsync(p.GetValue(folder), p.GetValue(clients), ct));
        return command;
    }

    private static Command Esdb()
    {
        var connection = new Option<string?>("--connection") { Description = "EventStoreDB connection string (default HEALTHEVENTS_ESDB)", HelpName = "esdb://host:port?tls=false" };
        var (duration, quick) = (Duration(10), Quick("3 s per case"));
        var command = new Command("esdb", "EventStoreDB as the store: appends vs raw gRPC appends, commands over HTTP vs PostgreSQL") { connection, duration, quick };
        command.SetAction((p, ct) => EventStoreDbMode.RunAsync(p.GetValue(connection), Seconds(p, duration, quick, 3), ct));
        return command;
    }

    /// <summary>--duration (alias --seconds, the old name): measured seconds per case.</summary>
    public static Option<double> Duration(double fallback, string name = "--duration", string description = "Measured seconds per case")
    {
        var option = name == "--duration" ? new Option<double>(name, "--seconds") : new Option<double>(name);
        option.Description = description;
        option.DefaultValueFactory = _ => fallback;
        option.HelpName = "seconds";
        option.CustomParser = r => double.TryParse(r.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is > 0 and < 1e6
            ? s
            : Fail<double>(r, $"{name} takes a positive number of seconds.");
        return option;
    }

    /// <summary>--quick: a short run, a smoke test of the mode rather than a measurement.</summary>
    public static Option<bool> Quick(string what) => new("--quick") { Description = $"A short run ({what}) unless given explicitly" };

    /// <summary>A whole-number option of at least <paramref name="min"/> (underscores and commas allowed: 1_000_000).</summary>
    public static Option<int> Count(string name, int fallback, int min, string description, int max = int.MaxValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        HelpName = "n",
        CustomParser = r => int.TryParse(r.Tokens[0].Value.Replace("_", "").Replace(",", ""), out var n) && n >= min && n <= max
            ? n
            : Fail<int>(r, max == int.MaxValue ? $"{name} takes a whole number of at least {min:N0}." : $"{name} takes a whole number from {min:N0} to {max:N0}."),
    };

    /// <summary>--leaves: the ledger's tree size for the proof timings.</summary>
    public static Option<int> Leaves() => Count("--leaves", 1_000_000, 1, "Leaves of the ledger tree the proofs are served from");

    /// <summary>--version: how long the long stream is when commands on it are timed.</summary>
    public static Option<int> StreamVersion() => Count("--version", 10_000, 21, "Version of the long stream (against version 10)");

    /// <summary>The option's value; with --quick and the option not given, <paramref name="quickValue"/>.</summary>
    public static int Value(ParseResult p, Option<int> option, Option<bool> quick, int quickValue) =>
        p.GetValue(quick) && p.GetResult(option) is null or { Implicit: true } ? quickValue : p.GetValue(option);

    /// <summary>The duration option as a span; with --quick and the option not given, <paramref name="quickSeconds"/>.</summary>
    public static TimeSpan Seconds(ParseResult p, Option<double> option, Option<bool> quick, double quickSeconds) =>
        TimeSpan.FromSeconds(p.GetValue(quick) && p.GetResult(option) is null or { Implicit: true } ? quickSeconds : p.GetValue(option));

    private static T Fail<T>(ArgumentResult result, string message) where T : struct
    {
        result.AddError(message);
        return default;
    }
}
