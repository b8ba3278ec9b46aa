namespace HealthEvents.Application.Ports;

/// <summary>
/// A stream holds an event this service cannot read at <see cref="Version"/> (written past it: a foreign event without
/// the service's envelope, an unknown type, or data that is not its type's JSON), so no command can be decided on it.
/// The API answers 409 <c>damaged-stream</c>; <c>verify</c> reports the event. The message names the stream and the
/// version only, never the event's bytes.
/// </summary>
public sealed class DamagedStreamException(string streamId, long version, Exception? inner = null)
    : Exception($"Stream {streamId} holds an unreadable event at version {version}.", inner)
{
    public string StreamId { get; } = streamId;

    public long Version { get; } = version;
}
