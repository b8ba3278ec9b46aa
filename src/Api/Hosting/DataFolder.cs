using HealthEvents.Infrastructure.Crypto;
using HealthEvents.Infrastructure.Postgres;

namespace HealthEvents.Api.Hosting;

/// <summary>Where the service keeps its private database, keys and demo files: HEALTHEVENTS_DATA, else ./.data.</summary>
public static class DataFolder
{
    public const string Variable = "HEALTHEVENTS_DATA";

    /// <summary>
    /// Set (true) by the verbs that only read what a service made (verify, rebuild): the node then refuses to start
    /// (<see cref="MissingDataException"/>) rather than make a database or keys where there are none.
    /// </summary>
    public const string ExistingOnlyKey = "HealthEvents:ExistingDataOnly";

    public static string Resolve(IConfiguration configuration) =>
        Path.GetFullPath(configuration[Variable] is { Length: > 0 } configured ? configured : ".data");

    /// <summary>
    /// What a service run with <paramref name="folder"/> would have made and is not there — the folder, its private
    /// PostgreSQL cluster (unless ConnectionStrings:Postgres names a server), its key-encryption key (unless configured) —
    /// or null when nothing is missing. Creates nothing.
    /// </summary>
    public static string? Missing(IConfiguration configuration, string folder)
    {
        const string hint = "The service has never run with it: start it once (./run.sh), or pass --data with the folder it uses";
        if (!Directory.Exists(folder)) return $"No data folder at {folder}. {hint}.";
        if (string.IsNullOrEmpty(configuration.GetConnectionString("Postgres")) && ClusterFolder.Existing(folder) is null)
            return $"No database in the data folder {folder} (no PostgreSQL cluster, and ConnectionStrings__Postgres is not set). {hint}.";
        if (!KeyEncryptionKey.Exists(configuration, folder))
            return $"No keys in the data folder {folder} ({KeyEncryptionKey.DefaultPath(folder)} is missing, and {KeyEncryptionKey.ConfigurationKey} is not set). {hint}.";
        return null;
    }
}

/// <summary>A verb that only reads existing data found none (<see cref="DataFolder.Missing"/>); the message says what and why.</summary>
public sealed class MissingDataException(string message) : Exception(message);
