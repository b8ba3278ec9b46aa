using System.CommandLine;
using HealthEvents.Api.Hosting;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// `import`: FHIR R4 transaction bundles sent to a running service's POST /fhir (<see cref="CliImport"/>), with a progress
/// bar and a summary of patients, resources by type and what was skipped and why.
/// </summary>
public static class ImportVerb
{
    public static Command Create(Option<string?> data)
    {
        var path = new Argument<string>("file-or-folder") { Description = "A bundle (.json), or a folder of them (its *.json files)" };
        var hospital = new Option<string>("--hospital") { Description = "The patients' home hospital, whose clinician sends them", Required = true, HelpName = "id" };
        hospital.Validators.Add(r =>
        {
            if (!HospitalKeyring.IsValidId(r.GetValueOrDefault<string>())) r.AddError("--hospital takes a hospital id.");
        });
        var url = new Option<Uri?>("--url") { Description = $"The service (default: HEALTHEVENTS_URLS, else {HealthEventsApp.DefaultUrl})", HelpName = "url" };
        var token = new Option<string?>("--token") { Description = "A bearer token; default: one minted from the local keys for --subject", HelpName = "token" };
        var subject = new Option<string?>("--subject") { Description = "The practitioner a minted token names (default: <hospital>-physician)", HelpName = "id" };
        var role = new Option<string>("--role") { Description = "The role a minted token names", DefaultValueFactory = _ => KebabCase.Of(Role.Physician), HelpName = "role" };
        role.AcceptOnlyFromAmong([.. Enum.GetValues<Role>().Select(KebabCase.Of)]);
        var parallel = new Option<int>("--parallel") { Description = "Bundles in flight at once (1 to 16)", DefaultValueFactory = _ => 2, HelpName = "n" };
        parallel.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 16) r.AddError("--parallel is 1 to 16.");
        });

        var command = new Command("import", "Send FHIR R4 transaction bundles to a running service, with progress and a summary")
        {
            path, hospital, url, token, subject, role, parallel,
        };
        command.SetAction((parsed, _) =>
        {
            // The keyring a minted token comes from is the data folder's, as for `token`.
            if (parsed.GetValue(data) is { Length: > 0 } folder) Environment.SetEnvironmentVariable(DataFolder.Variable, Path.GetFullPath(folder));
            var h = parsed.GetRequiredValue(hospital);
            var service = parsed.GetValue(url)
                          ?? new Uri(Environment.GetEnvironmentVariable("HEALTHEVENTS_URLS")?.Split(';')[0] ?? HealthEventsApp.DefaultUrl);
            KebabCase.TryParse<Role>(parsed.GetRequiredValue(role), out var r);
            return CliImport.RunAsync(new CliImport.Options(parsed.GetRequiredValue(path), h, service, parsed.GetValue(token),
                parsed.GetValue(subject) ?? $"{h}-physician", r, parsed.GetValue(parallel)));
        });
        return command.WithExitCodes(
            (ExitCodes.Ok, "every bundle was imported (sending them again adds nothing)"),
            (ExitCodes.Problems, "some bundles were refused or not answered: the summary names them and why"),
            (ExitCodes.Usage, "wrong command line, or no bundle at the path"));
    }
}
