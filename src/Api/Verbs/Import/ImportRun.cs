using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using HealthEvents.Api.Endpoints;
using HealthEvents.Api.Hosting;
using HealthEvents.Api.Verbs.Progress;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Verbs.Import;

/// <summary>
/// Sends FHIR R4 bundles to a running service's POST /fhir, then writes a summary (<see cref="ImportReport"/>) on standard
/// output; progress goes to standard error (<see cref="StepProgress"/>). Over HTTP, not in-process, on purpose: an import is
/// a clinical system's request like any other — authenticated, judged, endorsed by the network and recorded — so the
/// command line gets no power of its own, works against any node, and leaves the service's caches and idempotency records true.
/// </summary>
public static class ImportRun
{
    /// <param name="Path">A bundle (.json) or a folder of them (its *.json files, not its subfolders).</param>
    /// <param name="Hospital">The hospital whose clinician sends them (the patients' home hospital).</param>
    /// <param name="Service">The service's base address, ending with '/'.</param>
    /// <param name="Token">A bearer token; when null one is minted from the local keyring for <paramref name="Subject"/>.</param>
    /// <param name="Subject">The practitioner the minted token names (registered at the hospital with <paramref name="Role"/>).</param>
    /// <param name="Parallel">Bundles in flight at once.</param>
    public sealed record Request(string Path, string Hospital, Uri Service, string? Token, string Subject, Role Role, int Parallel);

    /// <summary>How long one bundle may take to be validated, decided, endorsed and appended before it counts as unanswered.</summary>
    private static readonly TimeSpan BundleTimeout = TimeSpan.FromMinutes(5);

    /// <returns>
    /// An exit code (<see cref="ExitCodes"/>): Ok when every bundle was imported, Problems when some failed, Usage when
    /// there is no bundle at the path, Failed when nothing could be sent (no key to mint a token, the service away),
    /// Interrupted when <paramref name="ct"/> fired (what was sent before is imported, and the summary says what).
    /// </returns>
    public static async Task<int> RunAsync(Request request, IConfiguration configuration, CancellationToken ct)
    {
        var files = Directory.Exists(request.Path) ? Directory.GetFiles(request.Path, "*.json").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(request.Path) ? [request.Path] : [];
        if (files.Length == 0)
        {
            await Console.Error.WriteLineAsync($"No bundle to import at {request.Path} (a .json file, or a folder of them).");
            return ExitCodes.Usage;
        }
        if ((request.Token ?? MintToken(request, configuration)) is not { } token) return ExitCodes.Failed;

        using var http = new HttpClient { BaseAddress = request.Service, Timeout = BundleTimeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Said once, up front, rather than as many failures as there are files.
        if (!await AnswersAsync(http, ct))
        {
            await Console.Error.WriteLineAsync($"The service does not answer at {request.Service} (start it with ./run.sh, or pass --url).");
            return ExitCodes.Failed;
        }

        var outcomes = new List<FileOutcome>();
        var interrupted = false;
        try
        {
            await StepProgress.RunAsync(async progress =>
            {
                var step = progress.Begin("bundles", files.Length);
                await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = request.Parallel, CancellationToken = ct },
                    async (file, fileCt) =>
                    {
                        var outcome = await FileSender.SendAsync(http, file, fileCt);
                        lock (outcomes)
                        {
                            outcomes.Add(outcome);
                            step.Report(outcomes.Count, files.Length, $"{outcomes.Count} of {files.Length} sent, {outcomes.Count(o => o.Failure is not null)} failed");
                        }
                    });
                var failed = outcomes.Count(o => o.Failure is not null);
                step.Complete($"{files.Length} of {files.Length} sent: {files.Length - failed} imported, {failed} failed");
                return 0;
            });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            interrupted = true;
        }
        var report = ImportReport.Of(files.Length, outcomes);
        report.Write(Console.Out);
        if (interrupted)
        {
            await Console.Error.WriteLineAsync(
                $"Interrupted after {outcomes.Count} of {files.Length} bundles: what was sent is imported; run it again to send the rest (nothing is added twice).");
            return ExitCodes.Interrupted;
        }
        return report.Failed.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
    }

    private static async Task<bool> AnswersAsync(HttpClient http, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            using var _ = await http.GetAsync("health/live", deadline.Token);
            return true;
        }
        catch (HttpRequestException) { return false; }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
    }

    private static string? MintToken(Request request, IConfiguration configuration)
    {
        var keyring = new HospitalKeyring(Path.Combine(DataFolder.Resolve(configuration), "keys"));
        if (!keyring.Has(request.Hospital, HospitalKeyUse.Identity))
        {
            Console.Error.WriteLine($"No identity key for hospital '{request.Hospital}' under {keyring.Folder}: pass --token, " +
                                    "or --data with the hospital's data folder (run it on the hospital's node).");
            return null;
        }
        return Tokens.Mint(keyring, request.Hospital, request.Subject, request.Role, null, TimeSpan.FromHours(1), DateTimeOffset.UtcNow);
    }
}

/// <summary>One file's outcome: the service's answer, or why it failed.</summary>
public sealed record FileOutcome(string File, ImportAnswer? Answer, FileFailure? Failure);

/// <param name="Reason">One line: "400 Bad Request", "too large (9,437,184 bytes; limit 8 MiB)", "no answer from …".</param>
/// <param name="Issues">The refusal's OperationOutcome issues, all of them, in order.</param>
public sealed record FileFailure(string Reason, IReadOnlyList<OperationOutcome.Issue> Issues);

/// <summary>Sends one bundle: one Idempotency-Key for every attempt, retried when the network or the service asks for it.</summary>
internal static class FileSender
{
    public static async Task<FileOutcome> SendAsync(HttpClient http, string file, CancellationToken ct)
    {
        var name = Path.GetFileName(file);
        byte[] body;
        try { body = await File.ReadAllBytesAsync(file, ct); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Failed(name, $"cannot read it: {e.Message}"); }
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
                // The service judges the length before the body is sent: a bundle over its limit gets its 413 at once,
                // instead of a connection closed under a body still being written.
                request.Headers.ExpectContinue = true;
                response = await http.SendAsync(request, ct);
            }
            catch (Exception e) when (e is HttpRequestException || e is TaskCanceledException && !ct.IsCancellationRequested)
            {
                if (attempt < 3)
                {
                    await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
                    continue;
                }
                return Failed(name, e is HttpRequestException
                    ? $"no answer from the service at {http.BaseAddress} (did it stop?)"
                    : $"no answer within {http.Timeout.TotalMinutes:0} min from the service at {http.BaseAddress}");
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.IsSuccessStatusCode)
                    return ImportAnswer.Read(text, body) is { } answer ? new(name, answer, null)
                        : Failed(name, $"{(int)response.StatusCode}, but the answer is neither an import summary nor a transaction-response Bundle");
                var retry = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                            || (response.StatusCode == HttpStatusCode.Conflict && response.Headers.RetryAfter is not null);
                if (retry && attempt < 5)
                {
                    await Task.Delay(response.Headers.RetryAfter?.Delta is { } d && d < TimeSpan.FromSeconds(30) ? d : TimeSpan.FromSeconds(2), ct);
                    continue;
                }
                var reason = response.StatusCode == HttpStatusCode.RequestEntityTooLarge
                    ? $"too large ({body.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes; limit {FhirEndpoints.MaxBundleBytes / (1024 * 1024)} MiB)"
                    : $"{(int)response.StatusCode} {response.ReasonPhrase}";
                return new(name, null, new FileFailure(reason, OperationOutcome.Issues(text)));
            }
        }
    }

    private static FileOutcome Failed(string name, string reason) => new(name, null, new FileFailure(reason, []));
}
