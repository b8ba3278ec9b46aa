namespace HealthEvents.Domain.Common;

/// <summary>
/// The stored, versioned name of an event ("consent.granted.v1"). Stored bytes name
/// this, never the CLR type, so moving or renaming a type never changes history.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class EventTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Marker for every domain event.</summary>
public interface IEvent;
