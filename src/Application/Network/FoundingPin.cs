using System.Globalization;

namespace HealthEvents.Application.Network;

/// <summary>
/// What a node pins of the network's founding (<see cref="NetworkGenesisPin"/>): how many events it holds and the stored
/// hash of its last one. That hash covers the last event's version and, through each prevHash link, every founding event
/// before it, so the pair fixes the founding's exact bytes and its end: an event after it is not part of the founding,
/// whatever its metadata says. Text form (<c>genesis.hash</c>, <c>HealthEvents:GenesisHash</c>): <c>{events}:{hash}</c>,
/// the count in decimal and the SHA-256 hash in 64 hex digits, e.g. <c>5:3f0c…e1</c>.
/// <para>
/// A pin written by an earlier release is the 64 hex digits of version 0's hash alone (<see cref="Events"/> null): it
/// fixes the founding's start but not its end, which the node then takes from the stream on first reading (the
/// founding command's events, <see cref="NetworkFounding"/>) and writes the full pin in its place.
/// </para>
/// </summary>
/// <param name="Events">The founding's event count (versions 0 to Events - 1); null: an earlier release's pin of version 0 only.</param>
/// <param name="Hash">The stored hash (32 bytes) of version Events - 1, or of version 0 when <paramref name="Events"/> is null.</param>
public sealed record FoundingPin(long? Events, byte[] Hash)
{
    /// <summary>The version whose hash is pinned: the founding's last (or version 0 for an earlier release's pin).</summary>
    public long PinnedVersion => Events is { } n ? n - 1 : 0;

    /// <summary>Whether the founding's end is pinned (not an earlier release's pin of version 0 alone).</summary>
    public bool IsComplete => Events is not null;

    /// <summary>Reads <c>{events}:{hash}</c> or a bare hash (an earlier release's pin); null for anything else. Spaces around are ignored.</summary>
    public static FoundingPin? Parse(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text)) return null;
        var colon = text.IndexOf(':');
        if (colon < 0) return HashOf(text) is { } legacy ? new FoundingPin(null, legacy) : null;
        if (!long.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var events) || events < 1) return null;
        return HashOf(text[(colon + 1)..]) is { } hash ? new FoundingPin(events, hash) : null;
    }

    /// <summary>Whether both name the same founding end (an incomplete pin matches only an incomplete one).</summary>
    public bool SameAs(FoundingPin other) => Events == other.Events && Hash.AsSpan().SequenceEqual(other.Hash);

    public override string ToString() =>
        Events is { } n ? $"{n.ToString(CultureInfo.InvariantCulture)}:{Convert.ToHexStringLower(Hash)}" : Convert.ToHexStringLower(Hash);

    private static byte[]? HashOf(string hex)
    {
        if (hex.Length != 64) return null;
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
