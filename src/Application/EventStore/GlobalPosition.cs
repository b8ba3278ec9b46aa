namespace HealthEvents.Application.EventStore;

/// <summary>
/// A position in the global log, a pair like EventStoreDB's (commit, prepare). On PostgreSQL it is
/// (transaction id, row position): ordering by the committing transaction first is what lets a
/// reader never skip a transaction that commits late.
/// </summary>
public readonly record struct GlobalPosition(ulong Commit, ulong Prepare) : IComparable<GlobalPosition>
{
    public static readonly GlobalPosition Start = new(0, 0);

    public int CompareTo(GlobalPosition other) =>
        Commit != other.Commit ? Commit.CompareTo(other.Commit) : Prepare.CompareTo(other.Prepare);

    public static bool operator <(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) < 0;
    public static bool operator >(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) > 0;
    public static bool operator <=(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) <= 0;
    public static bool operator >=(GlobalPosition a, GlobalPosition b) => a.CompareTo(b) >= 0;

    public override string ToString() => $"{Commit}/{Prepare}";

    public static GlobalPosition Parse(string text)
    {
        var parts = text.Split('/');
        return parts.Length == 2 && ulong.TryParse(parts[0], out var c) && ulong.TryParse(parts[1], out var p)
            ? new GlobalPosition(c, p)
            : throw new FormatException("A global position is written as commit/prepare.");
    }
}
