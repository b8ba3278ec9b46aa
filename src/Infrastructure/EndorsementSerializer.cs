using System.Text.Json;
using HealthEvents.Application.Ports;

namespace HealthEvents.Infrastructure;

/// <summary>
/// The stored form of a transaction's endorsement, shared by the event stores: UTF-8 JSON (web defaults, byte
/// arrays as base64). PostgreSQL keeps these bytes in <c>he_events.endorsement</c>; EventStoreDB carries them in
/// each event's custom metadata.
/// </summary>
internal static class EndorsementSerializer
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[]? Serialize(TransactionEndorsement? endorsement) =>
        endorsement is null ? null : JsonSerializer.SerializeToUtf8Bytes(endorsement, Json);

    public static TransactionEndorsement Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<TransactionEndorsement>(json, Json)
        ?? throw new InvalidDataException("A stored endorsement is null.");
}
