namespace HealthEvents.Infrastructure.Files;

/// <summary>
/// A small file a process reads if it exists and otherwise creates, where two processes starting at once (a service
/// and a CLI verb, two nodes on one data folder) must end with the same content: a key, a password, a pointer.
/// <para>
/// Creation happens under an exclusive lock on <c>&lt;path&gt;.lock</c> (<see cref="FileShare.None"/>, which .NET takes as an
/// advisory <c>flock</c> on Unix), re-checking under the lock whether another process got there first. The content
/// goes to a temporary file first and is moved into place, so nobody reads a half-written file. The lock is needed
/// because a move without overwriting is not atomic everywhere: .NET may check that the target is absent and then
/// rename, so two processes can both pass the check and each keep content of its own (seen for the key-encryption key:
/// one process then wraps data keys with a key nobody keeps).
/// </para>
/// </summary>
public static class CreateOnceFile
{
    private static readonly TimeSpan LockPatience = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The text of <paramref name="path"/> (trimmed), creating it first with <paramref name="create"/>'s text when absent.
    /// <paramref name="created"/> says whether this call wrote it. With <paramref name="ownerOnly"/> the file is mode 0600
    /// from its first byte.
    /// </summary>
    /// <exception cref="TimeoutException">Another process held the lock for over a minute.</exception>
    public static string ReadOrCreate(string path, Func<string> create, out bool created, bool ownerOnly = true)
    {
        created = false;
        path = Path.GetFullPath(path);
        if (File.Exists(path)) return File.ReadAllText(path).Trim();

        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        using (Lock(path, ownerOnly))
        {
            if (!File.Exists(path)) // else another process created it while this one waited
            {
                Write(path, create(), ownerOnly);
                created = true;
            }
            // Safe to remove while held: whoever locks a new lock file after this finds the file in place.
            File.Delete(path + ".lock");
        }
        return File.ReadAllText(path).Trim();
    }

    /// <inheritdoc cref="ReadOrCreate(string, Func{string}, out bool, bool)"/>
    public static string ReadOrCreate(string path, Func<string> create, bool ownerOnly = true) =>
        ReadOrCreate(path, create, out _, ownerOnly);

    private static void Write(string path, string text, bool ownerOnly)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = Options(FileMode.CreateNew, ownerOnly);
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
                writer.Write(text);
            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static FileStream Lock(string path, bool ownerOnly)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path + ".lock", Options(FileMode.OpenOrCreate, ownerOnly));
            }
            catch (IOException) when (waited.Elapsed < LockPatience)
            {
                Thread.Sleep(10); // another process is creating it right now
            }
            catch (IOException e)
            {
                throw new TimeoutException($"{path}.lock was held by another process for over {LockPatience.TotalSeconds} s.", e);
            }
        }
    }

    private static FileStreamOptions Options(FileMode mode, bool ownerOnly)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (ownerOnly && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }
}
