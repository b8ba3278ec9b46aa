using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HealthEvents.Infrastructure.Files;
using Npgsql;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Who may connect to a private cluster (PostgreSQL "Client Authentication", pg_hba.conf): over TCP only with the
/// superuser's password; over the Unix socket in the cluster folder (0700, so only the server's user and root reach it)
/// without one. Other local users could otherwise connect to 127.0.0.1 and read or change everything.
/// </summary>
internal static partial class ClusterAccess
{
    /// <summary>Rewrites "trust" to "scram-sha-256" on every TCP ("host…") line of pg_hba.conf; a no-op when none is left.</summary>
    public static void RequirePasswordOverTcp(string dataDir)
    {
        var path = Path.Combine(dataDir, "pg_hba.conf");
        var text = File.ReadAllText(path);
        var secured = HostTrust().Replace(text, "${rule}scram-sha-256");
        // In place: the file keeps its owner (the server's user) and mode, which a new file would not.
        if (!string.Equals(secured, text, StringComparison.Ordinal)) File.WriteAllText(path, secured);
    }

    /// <summary>
    /// Gives the superuser the cluster's password (made on first use, <see cref="LocalPostgres.PasswordFile"/>), over the
    /// socket, and has the server reload pg_hba.conf. Every start: a crash between the two steps cannot lock us out.
    /// </summary>
    /// <returns>The password, for connections over TCP.</returns>
    public static async Task<string> SetPasswordAsync(string dataDir, int port, CancellationToken ct)
    {
        var password = ReadOrCreatePassword(Path.Combine(dataDir, LocalPostgres.PasswordFile));
        var socket = new NpgsqlConnectionStringBuilder { Host = dataDir, Port = port, Username = "postgres", Database = "postgres", Pooling = false };
        await using var conn = new NpgsqlConnection(socket.ConnectionString);
        await conn.OpenAsync(ct);
        // Hex only, so it needs no quoting; a parameter is not allowed in ALTER ROLE.
        await using (var alter = new NpgsqlCommand($"ALTER ROLE postgres PASSWORD '{password}'", conn))
            await alter.ExecuteNonQueryAsync(ct);
        await using (var reload = new NpgsqlCommand("SELECT pg_reload_conf()", conn))
            await reload.ExecuteScalarAsync(ct);
        return password;
    }

    /// <summary>The cluster's password (64 hex digits, owner-only file), made once: two starts at once agree on it.</summary>
    private static string ReadOrCreatePassword(string path) =>
        CreateOnceFile.ReadOrCreate(path, () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    [GeneratedRegex(@"^(?<rule>\s*host\S*\s.*?)trust\s*$", RegexOptions.Multiline)]
    private static partial Regex HostTrust();
}
