using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using HealthEvents.Api.Hosting;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Spectre.Console;

namespace HealthEvents.Api;

/// <summary>
/// <c>./run.sh import &lt;file-or-folder&gt; --hospital H</c>: sends FHIR R4 bundles to a running service's POST /fhir, with
/// a progress bar and a summary. Over HTTP, not in-process, on purpose: an import is a clinical system's request like any
/// other — authenticated, judged, endorsed by the network and recorded — so the command line gets no power of its own,
/// works against any node (local or not), and leaves the service's caches and idempotency records true.
/// </summary>
public static class CliImport
{
    /// <param name="Path">A bundle (.json) or a folder of them (its *.json files, not its subfolders).</param>
    /// <param name="Hospital">The hospital whose clinician sends them (the patients' home hospital).</param>
    /// <param name="Service">The service's base address.</param>
    /// <param name="Token">A bearer token; when null one is minted from the local keyring for <paramref name="Subject"/>.</param>
    /// <param name="Subject">The practitioner the minted token names (registered at the hospital with <paramref name="Role"/>).</param>
    /// <param name="Parallel">Bundles in flight at once.</param>
    public sealed record Options(string Path, string Hospital, Uri Service, string? Token, string Subject, Role Role, int Parallel);

    public const string Usage =
        "./run.sh import <file-or-folder> --hospital H [--url URL (default HEALTHEVENTS_URLS or http://127.0.0.1:5080)]\n" +
        "                  [--token T | --subject S (default H-physician) --role R (default physician)] [--parallel N (default 2)]";

    /// <summary>The options from the verb's arguments, or null (with the reason written) when they do not parse.</summary>
    public static Options? Parse(string[] args)
    {
        var path = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) named[args[i][2..]] = args[++i];
            else if (args[i] != path) { Console.Error.WriteLine($"Unexpected argument '{args[i]}'."); return null; }
        if (path is null || !named.TryGetValue("hospital", out var hospital) || !HospitalKeyring.IsValidId(hospital))
            return null;
        var url = named.GetValueOrDefault("url") ?? Environment.GetEnvironmentVariable("HEALTHEVENTS_URLS")?.Split(';')[0] ?? HealthEventsApp.DefaultUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var service)) { Console.Error.WriteLine("--url is not an absolute URL."); return null; }
        var role = Role.Physician;
        if (named.TryGetValue("role", out var roleText) && !KebabCase.TryParse(roleText, out role)) { Console.Error.WriteLine($"Unknown role '{roleText}'."); return null; }
        var parallel = 2;
        if (named.TryGetValue("parallel", out var p) && (!int.TryParse(p, out parallel) || parallel is < 1 or > 16)) { Console.Error.WriteLine("--parallel is 1 to 16."); return null; }
        return new(path, hospital, service, named.GetValueOrDefault("token"), named.GetValueOrDefault("subject") ?? $"{hospital}-physician", role, parallel);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        if (Parse(args) is not { } options)
        {
            Console.Error.WriteLine("usage: " + Usage);
            return 2;
        }
        return await RunAsync(options);
    }

    /// <summary>Sends the bundles of <see cref="Options.Path"/>; 0 when every one was imported, 1 otherwise, 2 when there is none.</summary>
    public static async Task<int> RunAsync(Options options)
    {
        var files = Directory.Exists(options.Path) ? Directory.GetFiles(options.Path, "*.json").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(options.Path) ? [options.Path] : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"No bundle to import at {options.Path} (a .json file, or a folder of them).");
            return 2;
        }
        var token = options.Token ?? MintToken(options);
        if (token is null) return 1;

        using var http = new HttpClient { BaseAddress = options.Service, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var results = new List<FileResult>();
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

        // Said once, up front, rather than as many failures as there are files.
        try { using var _ = await http.GetAsync("health/live", stop.Token); }
        catch (HttpRequestException)
        {
            Console.Error.WriteLine($"The service does not answer at {options.Service} (start it with ./run.sh, or pass --url).");
            return 1;
        }

        try
        {
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"Importing {files.Length} bundle(s) into {options.Hospital}", maxValue: files.Length);
                    await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = stop.Token },
                        async (file, ct) =>
                        {
                            var result = await ImportOneAsync(http, file, ct);
                            lock (results) results.Add(result);
                            task.Increment(1);
                        });
                });
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Interrupted: what was sent is imported (sending it again adds nothing new).");
        }
        var summary = ImportReport.Of(results);
        ImportReport.Print(summary, AnsiConsole.Console);
        return summary.Failed.Count == 0 ? 0 : 1;
    }

    /// <summary>One file's outcome: the service's summary (200), or why it failed.</summary>
    public sealed record FileResult(string File, JsonElement? Summary, string? Failure);

    private static async Task<FileResult> ImportOneAsync(HttpClient http, string file, CancellationToken ct)
    {
        var name = System.IO.Path.GetFileName(file);
        byte[] body;
        try { body = await File.ReadAllBytesAsync(file, ct); }
        catch (IOException e) { return new(name, null, $"cannot read: {e.GetType().Name}"); }
        // One key for every attempt at this file: a retry after a lost answer is answered, never applied twice.
        var key = Guid.NewGuid().ToString();
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "fhir") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/fhir+json");
                request.Headers.Add(Idempotency.Header, key);
                response = await http.SendAsync(request, ct);
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
                continue;
            }
            catch (HttpRequestException)
            {
                return new(name, null, $"the service does not answer at {http.BaseAddress} (is it running? ./run.sh)");
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode == HttpStatusCode.OK)
                    return new(name, JsonDocument.Parse(text).RootElement.Clone(), null);
                var retry = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                            || (response.StatusCode == HttpStatusCode.Conflict && response.Headers.RetryAfter is not null);
                if (retry && attempt < 5)
                {
                    await Task.Delay(response.Headers.RetryAfter?.Delta is { } d && d < TimeSpan.FromSeconds(30) ? d : TimeSpan.FromSeconds(2), ct);
                    continue;
                }
                return new(name, null, $"{(int)response.StatusCode} {Diagnostics(text)}");
            }
        }
    }

    /// <summary>The first issue's text of an OperationOutcome (our own text: it never quotes the bundle).</summary>
    private static string Diagnostics(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (root.TryGetProperty("issue", out var issues) && issues.GetArrayLength() > 0 && issues[0].TryGetProperty("diagnostics", out var d))
                return d.GetString() ?? "";
        }
        catch (JsonException) { }
        return "(no OperationOutcome)";
    }

    private static string? MintToken(Options options)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var keyring = new HospitalKeyring(System.IO.Path.Combine(DataFolder.Resolve(configuration), "keys"));
        if (!keyring.Has(options.Hospital, HospitalKeyUse.Identity))
        {
            Console.Error.WriteLine($"No identity key for hospital '{options.Hospital}' under {keyring.Folder}: pass --token, or run on the hospital's node.");
            return null;
        }
        return Tokens.Mint(keyring, options.Hospital, options.Subject, options.Role, null, TimeSpan.FromHours(1), DateTimeOffset.UtcNow);
    }
}

/// <summary>What an import run did, summed over its files.</summary>
public sealed record ImportReport(
    int Files, int PatientsRegistered, int PatientsKnown, int Added, int AlreadyPresent,
    IReadOnlyDictionary<string, int> ImportedByType, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<(string File, string Reason)> Failed)
{
    public static ImportReport Of(IReadOnlyCollection<CliImport.FileResult> results)
    {
        var imported = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int registered = 0, known = 0, added = 0, present = 0;
        // The service answers a FHIR transaction-response; FhirImportSummary reads it (one entry per bundle entry).
        foreach (var s in results.Where(r => r.Summary is not null).Select(r => HealthEvents.Api.Fhir.FhirImportSummary.Read(r.Summary!.Value)))
        {
            if (s.Registered) registered++; else known++;
            added += s.Added;
            present += s.AlreadyPresent;
            foreach (var (into, counts) in new[] { (imported, s.ImportedByType), (skipped, s.Skipped) })
                foreach (var (type, count) in counts)
                    into[type] = into.GetValueOrDefault(type) + count;
        }
        return new(results.Count, registered, known, added, present, imported, skipped,
            [.. results.Where(r => r.Failure is not null).OrderBy(r => r.File, StringComparer.Ordinal).Select(r => (r.File, r.Failure!))]);
    }

    public static void Print(ImportReport r, IAnsiConsole console)
    {
        console.MarkupLine($"[bold]{r.Files}[/] bundle(s): [green]{r.PatientsRegistered}[/] patient(s) registered, {r.PatientsKnown} already known; " +
                           $"[green]{r.Added}[/] resource(s) added, {r.AlreadyPresent} already present; " +
                           (r.Failed.Count == 0 ? "no failure." : $"[red]{r.Failed.Count} failed[/]."));
        var table = new Table().AddColumn("Imported resource type").AddColumn(new TableColumn("Count").RightAligned());
        foreach (var (type, count) in r.ImportedByType) table.AddRow(Markup.Escape(type), count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        console.Write(table);
        if (r.Skipped.Count > 0)
        {
            var skipped = new Table().AddColumn("Skipped (type, reason)").AddColumn(new TableColumn("Count").RightAligned());
            foreach (var (label, count) in r.Skipped) skipped.AddRow(Markup.Escape(label), count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            console.Write(skipped);
        }
        foreach (var (file, reason) in r.Failed) console.MarkupLine($"[red]failed[/] {Markup.Escape(file)}: {Markup.Escape(reason)}");
    }
}
