using System.CommandLine;
using System.CommandLine.Parsing;
using HealthEvents.Api.Hosting;
using HealthEvents.Api.Verbs.Import;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// `import`: FHIR R4 transaction bundles sent to a running service's POST /fhir (<see cref="ImportRun"/>), with progress
/// on standard error and, on standard output, a summary: each file's patient id, resources by type, what was skipped
/// and why, and every issue of a refusal.
/// </summary>
public static class ImportVerb
{
    public static Command Create(Option<string?> data)
    {
        var path = new Argument<string>("file-or-folder") { Description = "A bundle (.json), or a folder of them (its *.json files, not its subfolders)" };
        var hospital = new Option<string>("--hospital") { Description = "The patients' home hospital, whose clinician sends them", Required = true, HelpName = "id" };
        hospital.Validators.Add(r =>
        {
            if (!HospitalKeyring.IsValidId(r.GetValueOrDefault<string>())) r.AddError("--hospital takes a hospital id.");
        });
        var url = new Option<Uri?>("--url")
        {
            // One address to send to, where the serving verbs' --urls lists addresses to listen on: hence the other name.
            Description = $"The service to send to: one http(s) address (the serving verbs' --urls lists addresses to listen on). " +
                          $"Default: the first of HEALTHEVENTS_URLS, else {HealthEventsApp.DefaultUrl}",
            HelpName = "url",
            CustomParser = ParseServiceUrl,
        };
        var token = new Option<string?>("--token") { Description = "A bearer token; default: one minted from the local keys (--data) for --subject", HelpName = "token" };
        var subject = new Option<string?>("--subject") { Description = "The practitioner a minted token names (default: <hospital>-physician)", HelpName = "id" };
        var role = TokenVerb.RoleOption("The role a minted token names");
        role.DefaultValueFactory = _ => KebabCase.Of(Role.Physician);
        var parallel = new Option<int>("--parallel") { Description = "Bundles in flight at once (1 to 16)", DefaultValueFactory = _ => 2, HelpName = "n" };
        parallel.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 16) r.AddError("--parallel is 1 to 16.");
        });

        var command = new Command("import", "Send FHIR R4 transaction bundles to a running service, with progress and a summary")
        {
            path, hospital, url, token, subject, role, parallel,
        };
        command.SetAction((parsed, ct) =>
        {
            // The keyring a minted token comes from is the data folder's, as for `token`.
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine([.. DataOption.Settings(parsed, data)]).Build();
            var h = parsed.GetRequiredValue(hospital);
            KebabCase.TryParse<Role>(parsed.GetRequiredValue(role), out var r);
            if ((parsed.GetValue(url) ?? DefaultService(configuration)) is not { } service)
            {
                Console.Error.WriteLine($"HEALTHEVENTS_URLS ('{configuration["HEALTHEVENTS_URLS"]}') names no http(s) address: pass --url.");
                return Task.FromResult(ExitCodes.Usage);
            }
            var request = new ImportRun.Request(parsed.GetRequiredValue(path), h, service,
                parsed.GetValue(token), parsed.GetValue(subject) ?? $"{h}-physician", r, parsed.GetValue(parallel));
            return ImportRun.RunAsync(request, configuration, ct);
        });
        return command.WithExitCodes(
            (ExitCodes.Ok, "every bundle was imported (sending them again adds nothing)"),
            (ExitCodes.Problems, "some bundles were refused or not answered: the summary names them, with the service's issues"),
            (ExitCodes.Usage, "wrong command line (a malformed --url, say), or no bundle at the path"),
            (ExitCodes.Failed, "nothing was sent: the service does not answer, or no key here to mint a token for that hospital"),
            ExitCodes.InterruptedLine);
    }

    /// <summary>An absolute http(s) URL; the base of the service's routes, so it ends with '/'.</summary>
    private static Uri? ParseServiceUrl(ArgumentResult result)
    {
        var text = result.Tokens[0].Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return AsBase(uri);
        result.AddError($"--url takes the service's address, an absolute http(s) URL such as {HealthEventsApp.DefaultUrl}; '{text}' is not one.");
        return null;
    }

    /// <summary>
    /// Where a service started here listens: the first of HEALTHEVENTS_URLS, a wildcard host ("*", "+", 0.0.0.0, [::])
    /// reached over loopback; null when that is no http(s) address.
    /// </summary>
    private static Uri? DefaultService(IConfiguration configuration)
    {
        var first = configuration["HEALTHEVENTS_URLS"]?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null) return AsBase(new Uri(HealthEventsApp.DefaultUrl));
        var loopback = System.Text.RegularExpressions.Regex.Replace(first, @"^(https?://)(\*|\+|0\.0\.0\.0|\[::\])(?=[:/]|$)", "${1}127.0.0.1");
        return Uri.TryCreate(loopback, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? AsBase(uri) : null;
    }

    private static Uri AsBase(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
