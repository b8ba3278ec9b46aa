using System.CommandLine;

namespace HealthEvents.Api.Verbs;

/// <summary>--data, on every verb: the service's data folder, as HEALTHEVENTS_DATA names it.</summary>
public static class DataOption
{
    public static Option<string?> Create() => new("--data")
    {
        Description = "The data folder: keys, demo tokens, the private PostgreSQL's cluster (or where it lives). " +
                      "Default: HEALTHEVENTS_DATA, else ./.data",
        HelpName = "folder",
        Recursive = true,
    };

    /// <summary>The configuration argument that names the folder, when --data was given.</summary>
    public static IEnumerable<string> Settings(ParseResult parsed, Option<string?> option) =>
        parsed.GetValue(option) is { Length: > 0 } folder ? [$"--{Hosting.DataFolder.Variable}={Path.GetFullPath(folder)}"] : [];
}
