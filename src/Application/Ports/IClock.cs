namespace HealthEvents.Application.Ports;

/// <summary>Time enters through the application, never the domain, so decisions replay deterministically.</summary>
public interface IClock
{
    DateTimeOffset UtcNow { get; }
}

public sealed class SystemClock : IClock
{
    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
}
