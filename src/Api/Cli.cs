using HealthEvents.Api.Hosting;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api;

/// <summary>The verbs of the service's executable (./run.sh VERB ...): one-off tasks instead of serving.</summary>
public static class Cli
{
    private static readonly Dictionary<string, Func<string[], Task<int>>> Verbs = new()
    {
        ["token"] = TokenAsync,
        ["rebuild"] = RebuildAsync,
        ["endorser"] = EndorserAsync,
        ["verify"] = VerifyAsync,
    };

    public static bool IsVerb(string arg) => Verbs.ContainsKey(arg) || arg is "help" or "--help";

    public static async Task<int> RunAsync(string[] args)
    {
        if (Verbs.TryGetValue(args[0], out var verb)) return await verb(args[1..]);
        if (args[0] is "help" or "--help") return Usage();
        await Console.Error.WriteLineAsync($"'{args[0]}' is not available in this build yet.");
        return 2;
    }

    private static int Usage()
    {
        Console.Error.WriteLine("""
            usage: ./run.sh                      serve the API (http://127.0.0.1:5080)
                   ./run.sh token --hospital H --role R --subject S [--patient ID] [--hours N (default 8)]
                                                 mint a bearer token signed by hospital H's identity key
                   ./run.sh rebuild [PROJECTION ...]   rebuild read views from the whole history (all when none named)
                   ./run.sh verify                 verify the whole store: hash links, signatures, policies (exit 1 if broken)
                   ./run.sh endorser --hospital H [--urls URL]
                                                 serve hospital H's endorser (HEALTHEVENTS_URLS, default http://127.0.0.1:5081)
            """);
        return 2;
    }

    /// <summary>Mints a token from the local keyring; the subject must be registered in the network (patients excepted).</summary>
    private static Task<int> TokenAsync(string[] args)
    {
        var options = Options(args);
        if (!options.TryGetValue("hospital", out var hospital) || !options.TryGetValue("role", out var roleText)
            || !options.TryGetValue("subject", out var subject) || !KebabCase.TryParse<Role>(roleText, out var role))
            return Task.FromResult(Usage());
        Guid? patientId = null;
        if (options.TryGetValue("patient", out var patientText))
        {
            if (!Guid.TryParse(patientText, out var parsed)) return Task.FromResult(Usage());
            patientId = parsed;
        }
        if (role == Role.Patient && patientId is null)
        {
            Console.Error.WriteLine("A patient token needs --patient <patient id>.");
            return Task.FromResult(2);
        }
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        // Tokens are short-lived: the service refuses one valid for longer than its configured maximum.
        var max = Auth.AuthSetup.MaxTokenLifetime(configuration);
        var hours = options.TryGetValue("hours", out var h) && double.TryParse(h, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 8;
        var lifetime = TimeSpan.FromHours(hours);
        if (lifetime > max)
        {
            Console.Error.WriteLine($"A token is valid for at most {max.TotalHours:0.#} h (HealthEvents__Auth__MaxTokenLifetime).");
            return Task.FromResult(2);
        }
        var keyring = new HospitalKeyring(Path.Combine(DataFolder.Resolve(configuration), "keys"));
        if (!keyring.Has(hospital, HospitalKeyUse.Identity))
        {
            Console.Error.WriteLine($"No identity key for hospital '{hospital}' under {keyring.Folder}: start the service once (./run.sh) to found the network.");
            return Task.FromResult(1);
        }
        Console.WriteLine(Tokens.Mint(keyring, hospital, subject, role, patientId, lifetime, DateTimeOffset.UtcNow));
        return Task.FromResult(0);
    }

    /// <summary>Runs one task against the service's database (started if need be, and stopped after, unless it was found running).</summary>
    private static async Task<int> WithServicesAsync(Func<IServiceProvider, Task<int>> work)
    {
        await using var app = await HealthEventsApp.BuildAsync(["--HealthEvents:SeedDemo=false", "--HealthEvents:Verb=true"],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        try
        {
            return await work(app.Services);
        }
        finally
        {
            await app.Services.GetRequiredService<PostgresHosting>().StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Rebuilds projections from history with progress, against the service's database (running or not).</summary>
    private static Task<int> RebuildAsync(string[] args) => WithServicesAsync(async services =>
    {
        var rebuilder = services.GetRequiredService<HealthEvents.Projections.Runner.ProjectionRebuilder>();
        var names = args.Length > 0 ? args : rebuilder.ProjectionNames.ToArray();
        var unknown = names.Except(rebuilder.ProjectionNames).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"Unknown projection(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", rebuilder.ProjectionNames)}.");
            return 2;
        }
        foreach (var name in names)
        {
            var done = await rebuilder.RebuildAsync(name, new Progress<HealthEvents.Projections.Runner.RebuildProgress>(p =>
                Console.Error.Write($"\r{p.Projection}: {p.Phase} {p.EventsDone:N0}/{(p.EventsTotal?.ToString("N0") ?? "?")} events, {p.EventsPerSecond:N0}/s   ")));
            Console.Error.WriteLine($"\r{name}: rebuilt from {done.EventsDone:N0} events in {done.Elapsed.TotalSeconds:N1}s ({done.EventsPerSecond:N0} events/s)      ");
        }
        return 0;
    });

    /// <summary>
    /// Verifies the whole store: every stream's hash links, every transaction's signatures against the keys
    /// valid at its time, the policy then in force. Prints each broken stream and version; exit code 1 when any.
    /// </summary>
    private static Task<int> VerifyAsync(string[] args) => WithServicesAsync(async services =>
    {
        var store = services.GetRequiredService<HealthEvents.Application.Ports.IEventStore>();
        var checker = await HealthEvents.Application.Endorsement.EndorsementChecker.LoadAsync(
            store, services.GetRequiredService<HealthEvents.Application.Serialization.EventSerializer>(), CancellationToken.None);
        var report = await HealthEvents.Application.Ledger.StoreVerifier.VerifyAsync(store, new HealthEvents.Application.Ledger.StoreVerifierOptions
        {
            EndorsementChecker = checker,
            Progress = p => Console.Error.Write($"\rverified {p.Events:N0} events in {p.Streams:N0} streams, {p.EventsPerSecond:N0} events/s   "),
        });
        Console.Error.WriteLine();
        foreach (var stream in report.BrokenStreams)
        foreach (var problem in stream.Problems)
            Console.WriteLine($"{problem.StreamId} v{problem.Version}: {problem.Code}: {problem.Message}");
        Console.WriteLine(report.Verified
            ? $"verified: {report.Events:N0} events in {report.Streams:N0} streams, every link, signature and policy holds"
            : $"NOT verified: {report.BrokenStreamCount:N0} of {report.Streams:N0} streams have problems");

        // Per-stream chains cannot see a whole stream (or a tail) dropped: the latest signed tree head can.
        var ledgerHolds = true;
        var serializer = services.GetRequiredService<HealthEvents.Application.Serialization.EventSerializer>();
        if (await store.ReadLastAsync(HealthEvents.Application.Ledger.LedgerStream.StreamId) is { } last
            && serializer.Deserialize(last.Type, last.Data) is HealthEvents.Domain.Ledger.TreeHeadSigned head)
        {
            var check = await new HealthEvents.Application.Ledger.LedgerVerifier(store).VerifyAsync(head.TreeSize, Convert.FromHexString(head.RootHash));
            ledgerHolds = check.Verified;
            Console.WriteLine(check.Verified
                ? $"ledger: the signed tree head of {head.TreeSize:N0} events matches the store"
                : $"ledger NOT verified: the signed head of {head.TreeSize:N0} events has root {check.SignedRoot}, the store gives {check.RecomputedRoot} from {check.LeavesFound:N0} events");
        }
        else
        {
            Console.WriteLine("ledger: no signed tree head yet");
        }
        return report.Verified && ledgerHolds ? 0 : 1;
    });

    /// <summary>Serves one hospital's endorser until stopped.</summary>
    private static async Task<int> EndorserAsync(string[] args)
    {
        var options = Options(args);
        if (!options.TryGetValue("hospital", out var hospital)) return Usage();
        var passThrough = options.TryGetValue("urls", out var urls) ? new[] { "--urls", urls } : [];
        await using var app = await EndorserApp.BuildAsync(passThrough, hospital);
        await app.RunAsync();
        return 0;
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
            if (args[i].StartsWith("--", StringComparison.Ordinal)) options[args[i][2..]] = args[i + 1];
        return options;
    }
}
