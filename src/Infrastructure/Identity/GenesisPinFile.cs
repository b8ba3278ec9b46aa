using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure.Identity;

/// <summary>
/// The network's pinned founding as a file of the node's data folder (<c>{data}/genesis.hash</c>, beside
/// <c>genesis.json</c> and <c>keys/</c>): <c>{events}:{hash}</c> (<see cref="FoundingPin"/>; an earlier release wrote the
/// 64 hex digits of version 0's hash alone) and a newline, readable by an operator. Written through a temporary file and
/// a rename, so a crash never leaves half a pin behind.
/// </summary>
public sealed class GenesisPinFile(string path) : IGenesisPinStore
{
    public const string FileName = "genesis.hash";

    public string Location => path;

    public FoundingPin? Read()
    {
        if (!File.Exists(path)) return null;
        return FoundingPin.Parse(File.ReadAllText(path))
               ?? throw new InvalidDataException($"{path} does not hold the network's founding as {{events}}:{{hash}} (a count, a colon and 64 hex digits).");
    }

    public void Write(FoundingPin founding)
    {
        ArgumentNullException.ThrowIfNull(founding);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, founding + "\n");
        File.Move(temporary, path, overwrite: true);
    }
}
