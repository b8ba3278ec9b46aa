using System.Diagnostics;

namespace HealthEvents.Infrastructure.Postgres;

/// <summary>
/// Runs the PostgreSQL server's programs. PostgreSQL refuses to run as root, so as root they run as the
/// <see cref="User"/> (runuser); as anyone else they run as that user, who then owns the cluster.
/// </summary>
internal static class ServerProcess
{
    public const string User = "postgres";

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Whether the server's user can reach <paramref name="folder"/>: search permission on it and every folder above.</summary>
    public static async Task<bool> CanReachAsync(string folder, CancellationToken ct)
    {
        if (!IsRoot) return true;
        try
        {
            await RunAsync("test", ["-x", folder], asServerUser: true, ct);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <exception cref="InvalidOperationException">The program failed; the message carries its exit code and output.</exception>
    public static async Task RunAsync(string file, IReadOnlyList<string> args, bool asServerUser, CancellationToken ct)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asServerUser && IsRoot)
        {
            psi.FileName = "runuser";
            foreach (var a in (string[])["-u", User, "--", file]) psi.ArgumentList.Add(a);
            psi.WorkingDirectory = "/"; // ours may be in a home that user cannot enter (initdb and pg_ctl warn then)
        }
        else
        {
            psi.FileName = file;
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} failed with exit code {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}");
    }
}
