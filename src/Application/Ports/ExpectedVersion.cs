namespace HealthEvents.Application.Ports;

/// <summary>What the appender believes about the stream: no stream yet, an exact last version, or anything.</summary>
public readonly record struct ExpectedVersion
{
    private const long NoStreamValue = -1;
    private const long AnyValue = -2;

    private ExpectedVersion(long value) => Value = value;

    public long Value { get; }

    public static readonly ExpectedVersion NoStream = new(NoStreamValue);
    public static readonly ExpectedVersion Any = new(AnyValue);

    /// <summary>The stream's last version is exactly <paramref name="lastVersion"/> (a stream of n events: n-1).</summary>
    public static ExpectedVersion Exactly(long lastVersion) =>
        lastVersion >= 0 ? new(lastVersion) : throw new ArgumentOutOfRangeException(nameof(lastVersion));

    /// <summary>The expectation matching a stream whose last version is <paramref name="lastVersion"/> (-1: none).</summary>
    public static ExpectedVersion After(long lastVersion) => lastVersion < 0 ? NoStream : Exactly(lastVersion);

    public bool IsAny => Value == AnyValue;
    public bool IsNoStream => Value == NoStreamValue;

    public bool IsMetBy(long actualLastVersion) => IsAny || Value == actualLastVersion;

    public override string ToString() => IsAny ? "any" : IsNoStream ? "no-stream" : Value.ToString();
}
