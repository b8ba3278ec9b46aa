using System.CommandLine;
using System.Globalization;
using HealthEvents.Api.Hosting;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Api.Verbs;

/// <summary>
/// `token`: mints a bearer token (a JWT, RFC 7519) signed by a hospital's identity key from the local keyring. Needs no
/// database and builds no host, so it answers at once; the service checks the subject when the token is used.
/// </summary>
public static class TokenVerb
{
    private const double DefaultHours = 8;

    public static Command Create(Option<string?> data)
    {
        var hospital = new Option<string>("--hospital") { Description = "The hospital that issues it (its identity key signs)", Required = true, HelpName = "id" };
        var role = RoleOption("The subject's role");
        role.Required = true;
        var subject = new Option<string>("--subject") { Description = "Who acts: a staff member's id as registered with the hospital, or the patient's name", Required = true, HelpName = "id" };
        var patient = new Option<Guid?>("--patient")
        {
            Description = "The patient id: required with --role patient, whose home hospital must issue the token",
            HelpName = "patient-id",
            CustomParser = r => Guid.TryParse(r.Tokens[0].Value, out var id) ? id : Fail<Guid?>(r, "--patient takes a patient id (a UUID)."),
        };
        var hours = new Option<double>("--hours")
        {
            Description = "How long it is valid, in hours (at most HealthEvents:Auth:MaxTokenLifetime, a day by default)",
            DefaultValueFactory = _ => DefaultHours,
            HelpName = "hours",
        };
        hours.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is not (> 0 and < double.PositiveInfinity)) r.AddError("--hours must be a positive number.");
        });

        var command = new Command("token", "Mint a bearer token from the local keys (printed on standard output)")
        {
            hospital, role, subject, patient, hours,
        };
        command.Validators.Add(r =>
        {
            if (r.GetResult(role)?.Tokens is [var given] && given.Value == KebabCase.Of(Role.Patient) && r.GetResult(patient) is null)
                r.AddError("A patient token needs --patient <patient-id>.");
        });
        command.SetAction(parsed =>
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables()
                .AddCommandLine([.. DataOption.Settings(parsed, data)]).Build();
            KebabCase.TryParse<Role>(parsed.GetRequiredValue(role), out var parsedRole);
            return Mint(configuration, parsed.GetRequiredValue(hospital), parsed.GetRequiredValue(subject), parsedRole,
                parsed.GetValue(patient), TimeSpan.FromHours(parsed.GetValue(hours)));
        });
        return command.WithExitCodes(
            (ExitCodes.Ok, "the token is on standard output"),
            (ExitCodes.Usage, "wrong command line, or --hours beyond the longest lifetime the service accepts"),
            (ExitCodes.Failed, "no identity key for that hospital here yet: start the service once (./run.sh) to found the network"));
    }

    /// <summary>--role, one of the roles a token can name (listed in its help).</summary>
    public static Option<string> RoleOption(string description)
    {
        string[] roles = [.. Enum.GetValues<Role>().Select(KebabCase.Of)];
        var role = new Option<string>("--role") { Description = $"{description}: {string.Join(", ", roles)}", HelpName = "role" };
        role.AcceptOnlyFromAmong(roles);
        return role;
    }

    private static int Mint(IConfiguration configuration, string hospital, string subject, Role role, Guid? patientId, TimeSpan lifetime)
    {
        // Tokens are short-lived: the service refuses one valid for longer than its configured maximum.
        var max = Auth.AuthSetup.MaxTokenLifetime(configuration);
        if (lifetime > max)
        {
            Console.Error.WriteLine($"A token is valid for at most {max.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} h (HealthEvents__Auth__MaxTokenLifetime).");
            return ExitCodes.Usage;
        }
        var keyring = new HospitalKeyring(Path.Combine(DataFolder.Resolve(configuration), "keys"));
        if (!keyring.Has(hospital, HospitalKeyUse.Identity))
        {
            Console.Error.WriteLine($"No identity key for hospital '{hospital}' under {keyring.Folder}: start the service once (./run.sh) to found the network.");
            return ExitCodes.Failed;
        }
        Console.WriteLine(Tokens.Mint(keyring, hospital, subject, role, patientId, lifetime, DateTimeOffset.UtcNow));
        return ExitCodes.Ok;
    }

    private static T? Fail<T>(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
