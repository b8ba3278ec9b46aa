using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Identity;

/// <summary>
/// The network's pinned founding hash as a file of the node's data folder (<c>{data}/genesis.hash</c>, beside
/// <c>genesis.json</c> and <c>keys/</c>): 64 lowercase hex digits and a newline, readable by an operator. Written once,
/// through a temporary file and a rename, so a crash never leaves half a hash behind.
/// </summary>
public sealed class GenesisPinFile(string path) : IGenesisPinStore
{
    public const string FileName = "genesis.hash";

    public string Location => path;

    public byte[]? Read()
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path).Trim();
        return Parse(text) ?? throw new InvalidDataException($"{path} does not hold a SHA-256 hash in hex (64 digits).");
    }

    public void Write(byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Convert.ToHexStringLower(hash) + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>A SHA-256 hash from hex (either case, surrounding spaces ignored); null for anything else.</summary>
    public static byte[]? Parse(string? hex)
    {
        hex = hex?.Trim();
        if (hex is not { Length: 64 }) return null;
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
