namespace HealthEvents.Application.Ports;

/// <summary>
/// A stream holds an event this service cannot decide on at <see cref="Version"/> (written past it: a foreign event
/// without the service's envelope, an unknown type, data that is not its type's JSON, or — on the network stream — an
/// event that fails verification, such as one nobody endorsed), or no longer serves its events from <see cref="Version"/>
/// on (<see cref="Hidden"/>: its start cut with EventStoreDB's <c>$tb</c>, soft-deleted, a row moved away), so no command
/// can be decided on it. The API answers 409 <c>damaged-stream</c>; <c>verify</c> reports the event (or
/// <c>stream-truncated</c> at version 0). The message names the stream and the version only, never the event's bytes.
/// </summary>
/// <param name="reason">What is wrong at the version (default: "holds an unreadable event at version N").</param>
/// <param name="hidden">The stream's events from <paramref name="version"/> on are not served (not unreadable).</param>
/// <param name="ledgerMismatch">The event at <paramref name="version"/> reads, but is not the one the ledger holds there (verify's <c>ledger-mismatch</c>).</param>
public sealed class DamagedStreamException(
    string streamId, long version, Exception? inner = null, string? reason = null, bool hidden = false, bool ledgerMismatch = false)
    : Exception($"Stream {streamId} {reason ?? $"holds an unreadable event at version {version}"}.", inner)
{
    public string StreamId { get; } = streamId;

    public long Version { get; } = version;

    /// <summary>Events from <see cref="Version"/> on are hidden from stream reads (the verifier's <c>stream-truncated</c>, <c>missing-event</c>).</summary>
    public bool Hidden { get; } = hidden;

    /// <summary>The event at <see cref="Version"/> reads, but the ledger (its view's leaf, or a signed tree head) holds another there: rewritten past the service, or the ledger edited.</summary>
    public bool LedgerMismatch { get; } = ledgerMismatch;
}
