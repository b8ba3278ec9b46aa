namespace HealthEvents.Api.Hosting;

/// <summary>Where the service keeps its private database, keys and demo files: HEALTHEVENTS_DATA, else ./.data.</summary>
public static class DataFolder
{
    public const string Variable = "HEALTHEVENTS_DATA";

    public static string Resolve(IConfiguration configuration) =>
        Path.GetFullPath(configuration[Variable] is { Length: > 0 } configured ? configured : ".data");
}
