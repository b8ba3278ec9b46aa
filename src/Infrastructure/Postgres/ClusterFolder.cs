using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HealthEvents.Infrastructure.Files;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Where the private cluster of a data folder lives. Normally in it, at &lt;data&gt;/postgres. But as root the server
/// runs as the postgres user, who cannot reach a data folder inside a private home (root's home is 0700): then the
/// cluster lives in &lt;<see cref="DefaultRoot"/>&gt;/&lt;id&gt;, a folder that user owns (0700), and the data folder keeps
/// only the id, in <see cref="PointerFile"/>. So the cluster stays the data folder's: moved, it keeps its database;
/// deleted, the next start founds a new one (the old cluster stays behind until removed by hand).
/// </summary>
public static partial class ClusterFolder
{
    /// <summary>Where relocated clusters live: persistent state (FHS /var/lib), so data survives a reboot.</summary>
    public const string DefaultRoot = "/var/lib/healthevents/postgres";

    /// <summary>In the data folder: the id of its relocated cluster (32 hex digits), when it has one.</summary>
    public const string PointerFile = "postgres.cluster";

    /// <param name="root">Where to relocate a cluster to; <see cref="DefaultRoot"/> but in tests.</param>
    /// <exception cref="InvalidOperationException">The pointer file holds something else than an id.</exception>
    public static async Task<string> ResolveAsync(string dataFolder, ILogger log, CancellationToken ct, string root = DefaultRoot)
    {
        dataFolder = Path.GetFullPath(dataFolder);
        Directory.CreateDirectory(dataFolder);
        var pointer = Path.Combine(dataFolder, PointerFile);
        if (ReadPointer(pointer) is { } known) return Path.Combine(root, known);

        var inPlace = Path.Combine(dataFolder, "postgres");
        if (File.Exists(Path.Combine(inPlace, "PG_VERSION")) || await ServerProcess.CanReachAsync(dataFolder, ct)) return inPlace;

        Directory.CreateDirectory(root);
        // Others may pass through to the cluster folders (the server's user must) but not list them.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        // Of two starts of the same data folder at once, the first one's id counts for both.
        CreateOnceFile.ReadOrCreate(pointer, () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "\n", out var created, ownerOnly: false);
        var id = ReadPointer(pointer)!;
        if (!created) return Path.Combine(root, id);
        log.LogInformation(
            "The postgres user cannot reach {DataFolder} (a private home folder?): its PostgreSQL cluster lives in {Cluster}, named in {Pointer}",
            dataFolder, Path.Combine(root, id), pointer);
        return Path.Combine(root, id);
    }

    /// <summary>
    /// The cluster <paramref name="dataFolder"/> already has (in place, or where its pointer names), or null when it has
    /// none yet. Creates nothing: for verbs that only read what a service made.
    /// </summary>
    public static string? Existing(string dataFolder, string root = DefaultRoot)
    {
        dataFolder = Path.GetFullPath(dataFolder);
        var cluster = ReadPointer(Path.Combine(dataFolder, PointerFile)) is { } id ? Path.Combine(root, id) : Path.Combine(dataFolder, "postgres");
        return File.Exists(Path.Combine(cluster, "PG_VERSION")) ? cluster : null;
    }

    /// <summary>
    /// The id in the pointer file, or null when there is none. Only an id, never a path: root hands the cluster folder
    /// to the postgres user, so the file must not be able to name any other folder.
    /// </summary>
    private static string? ReadPointer(string pointer)
    {
        if (!File.Exists(pointer)) return null;
        var id = File.ReadAllText(pointer).Trim();
        return Id().IsMatch(id) ? id : throw new InvalidOperationException($"{pointer} should hold a cluster id (32 hex digits).");
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex Id();
}
