using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// Event ids unique across the store, as the port requires (an id stored in another stream is refused). PostgreSQL
/// has a unique index; EventStoreDB checks ids only within a stream, so each appended id is first claimed by a
/// one-event stream <c>he-event-id-{id}</c> created with expected revision no-stream, whose data is the owning stream
/// id. A claim that already exists for the same stream marks a retry (then the store looks for the stored events);
/// for another stream, the append is refused before anything is written to it. Claims are written concurrently,
/// before the append; one left by an append that then failed is harmless (its id was fresh). Claim streams are not
/// part of the global log: reads of $all skip them.
/// </summary>
internal static class EventIdClaims
{
    public const string StreamPrefix = "he-event-id-";
    public const string EventType = "HealthEventsEventIdClaimed";

    public static string StreamOf(Guid eventId) => StreamPrefix + eventId.ToString("D");

    /// <summary>
    /// Claims every id for <paramref name="streamId"/> (claim streams named under the store's
    /// <paramref name="prefix"/>); returns the ids this stream had claimed before (a retry).
    /// </summary>
    public static async Task<HashSet<Guid>> ClaimAsync(
        EventStoreDbClient client, string prefix, string streamId, IEnumerable<Guid> eventIds, CancellationToken ct)
    {
        var claims = eventIds.Select(id => ClaimOneAsync(client, prefix, streamId, id, ct)).ToArray();
        await Task.WhenAll(claims);
        return claims.Where(c => c.Result.ClaimedBefore).Select(c => c.Result.EventId).ToHashSet();
    }

    private static async Task<(Guid EventId, bool ClaimedBefore)> ClaimOneAsync(
        EventStoreDbClient client, string prefix, string streamId, Guid eventId, CancellationToken ct)
    {
        var claimStream = prefix + StreamOf(eventId);
        var message = new AppendReq.Types.ProposedMessage
        {
            Id = new UUID { String = Guid.NewGuid().ToString("D") },
            Metadata = { [EventStoreDbEnvelope.TypeKey] = EventType, [EventStoreDbEnvelope.ContentTypeKey] = EventStoreDbEnvelope.OctetStream },
            Data = Google.Protobuf.ByteString.CopyFrom(streamId, Encoding.UTF8),
        };
        var reply = await client.AppendAsync(claimStream, o => o.NoStream = new Empty(), [message], ct);
        if (reply.ResultCase == AppendResp.ResultOneofCase.Success) return (eventId, false);

        var owner = await ReadOwnerAsync(client, claimStream, ct)
            ?? throw new EventStoreDbException($"The claim of event id {eventId} exists but could not be read.");
        if (owner != streamId) throw new DuplicateEventIdException(eventId, "is already stored in another stream");
        return (eventId, true);
    }

    private static async Task<string?> ReadOwnerAsync(EventStoreDbClient client, string claimStream, CancellationToken ct)
    {
        var request = EventStoreDbRequests.ReadStream(claimStream, fromRevision: 0, forwards: true, count: 1);
        using var read = await client.ReadAsync(request, claimStream, ct);
        while (await read.NextAsync() is { } reply)
            if (reply.ContentCase == ReadResp.ContentOneofCase.Event && reply.Event.Event is { } e)
                return e.Data.ToStringUtf8();
        return null;
    }
}
