namespace HealthEvents.Application.Ports;

/// <summary>
/// A stream holds an event this service cannot decide on at <see cref="Version"/> (written past it: a foreign event
/// without the service's envelope, an unknown type, data that is not its type's JSON, or — on the network stream — an
/// event that fails verification, such as one nobody endorsed), so no command can be decided on it. The API answers
/// 409 <c>damaged-stream</c>; <c>verify</c> reports the event. The message names the stream and the version only, never
/// the event's bytes.
/// </summary>
/// <param name="reason">What is wrong at the version (default: "holds an unreadable event at version N").</param>
public sealed class DamagedStreamException(string streamId, long version, Exception? inner = null, string? reason = null)
    : Exception($"Stream {streamId} {reason ?? $"holds an unreadable event at version {version}"}.", inner)
{
    public string StreamId { get; } = streamId;

    public long Version { get; } = version;
}
